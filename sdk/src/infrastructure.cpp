#include <flint/sdk/infrastructure.hpp>

namespace flint::sdk {

InfrastructureTask InfrastructureTask::in_progress(std::string infrastructure_id,
                                                   std::string request_id) {
  return {
      std::move(infrastructure_id), std::move(request_id), ExecutionStatus::in_progress, {}, {}};
}

InfrastructureTask InfrastructureTask::complete(std::string infrastructure_id,
                                                std::string request_id,
                                                boost::json::object outputs) {
  return {std::move(infrastructure_id),
          std::move(request_id),
          ExecutionStatus::complete,
          {},
          std::move(outputs)};
}

InfrastructureTask InfrastructureTask::failed(std::string infrastructure_id, std::string request_id,
                                              FailureCode code, std::string description) {
  return {std::move(infrastructure_id),
          std::move(request_id),
          ExecutionStatus::failed,
          FailureDetails{code, std::move(description)},
          {}};
}

}  // namespace flint::sdk
