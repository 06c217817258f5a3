#include <flint/sdk/lifecycle.hpp>

namespace flint::sdk {

std::string_view to_string(ExecutionStatus status) noexcept {
  switch (status) {
    case ExecutionStatus::in_progress:
      return "IN_PROGRESS";
    case ExecutionStatus::complete:
      return "COMPLETE";
    case ExecutionStatus::failed:
      return "FAILED";
  }
  return "FAILED";
}

std::optional<ExecutionStatus> parse_execution_status(std::string_view text) noexcept {
  for (auto status :
       {ExecutionStatus::in_progress, ExecutionStatus::complete, ExecutionStatus::failed}) {
    if (to_string(status) == text) return status;
  }
  return std::nullopt;
}

std::string_view to_string(FailureCode code) noexcept {
  switch (code) {
    case FailureCode::resource_not_found:
      return "RESOURCE_NOT_FOUND";
    case FailureCode::infrastructure_error:
      return "INFRASTRUCTURE_ERROR";
    case FailureCode::insufficient_capacity:
      return "INSUFFICIENT_CAPACITY";
    case FailureCode::internal_error:
      return "INTERNAL_ERROR";
    case FailureCode::resource_already_exists:
      return "RESOURCE_ALREADY_EXISTS";
  }
  return "INTERNAL_ERROR";
}

std::optional<FailureCode> parse_failure_code(std::string_view text) noexcept {
  for (auto code : {FailureCode::resource_not_found, FailureCode::infrastructure_error,
                    FailureCode::insufficient_capacity, FailureCode::internal_error,
                    FailureCode::resource_already_exists}) {
    if (to_string(code) == text) return code;
  }
  return std::nullopt;
}

LifecycleExecution LifecycleExecution::in_progress(std::string request_id) {
  LifecycleExecution execution;
  execution.request_id = std::move(request_id);
  execution.status = ExecutionStatus::in_progress;
  return execution;
}

LifecycleExecution LifecycleExecution::complete(std::string request_id, boost::json::object outputs,
                                                AssociatedTopology topology) {
  LifecycleExecution execution;
  execution.request_id = std::move(request_id);
  execution.status = ExecutionStatus::complete;
  execution.outputs = std::move(outputs);
  execution.associated_topology = std::move(topology);
  return execution;
}

LifecycleExecution LifecycleExecution::failed(std::string request_id, FailureCode code,
                                              std::string description, boost::json::object outputs,
                                              AssociatedTopology topology) {
  LifecycleExecution execution;
  execution.request_id = std::move(request_id);
  execution.status = ExecutionStatus::failed;
  execution.failure_details = FailureDetails{code, std::move(description)};
  execution.outputs = std::move(outputs);
  execution.associated_topology = std::move(topology);
  return execution;
}

}  // namespace flint::sdk
