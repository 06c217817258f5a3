#include <flint/sdk/errors.hpp>

namespace flint::sdk {

std::string_view to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::invalid_request:
      return "invalid_request";
    case ErrorKind::invalid_lifecycle_name:
      return "invalid_lifecycle_name";
    case ErrorKind::invalid_driver_files:
      return "invalid_driver_files";
    case ErrorKind::request_not_found:
      return "request_not_found";
    case ErrorKind::unreachable_location:
      return "unreachable_location";
    case ErrorKind::temporary:
      return "temporary";
    case ErrorKind::driver:
      return "driver";
    case ErrorKind::invalid_template:
      return "invalid_template";
    case ErrorKind::infrastructure_not_found:
      return "infrastructure_not_found";
  }
  return "driver";
}

std::optional<ErrorKind> parse_error_kind(std::string_view name) noexcept {
  for (auto kind : {ErrorKind::invalid_request, ErrorKind::invalid_lifecycle_name,
                    ErrorKind::invalid_driver_files, ErrorKind::request_not_found,
                    ErrorKind::unreachable_location, ErrorKind::temporary, ErrorKind::driver,
                    ErrorKind::invalid_template, ErrorKind::infrastructure_not_found}) {
    if (to_string(kind) == name) return kind;
  }
  return std::nullopt;
}

DriverError::DriverError(ErrorKind kind, std::string message, std::string operator_detail)
    : std::runtime_error(std::move(message)),
      kind_(kind),
      operator_detail_(std::move(operator_detail)) {}

void raise_error(ErrorKind kind, std::string message, std::string operator_detail) {
  switch (kind) {
    case ErrorKind::invalid_request:
      throw InvalidRequestError(std::move(message), std::move(operator_detail));
    case ErrorKind::invalid_lifecycle_name:
      throw InvalidLifecycleNameError(std::move(message), std::move(operator_detail));
    case ErrorKind::invalid_driver_files:
      throw InvalidDriverFilesError(std::move(message), std::move(operator_detail));
    case ErrorKind::request_not_found:
      throw RequestNotFoundError(std::move(message), std::move(operator_detail));
    case ErrorKind::unreachable_location:
      throw UnreachableDeploymentLocationError(std::move(message), std::move(operator_detail));
    case ErrorKind::temporary:
      throw TemporaryDriverError(std::move(message), std::move(operator_detail));
    case ErrorKind::invalid_template:
      throw InvalidTemplateError(std::move(message), std::move(operator_detail));
    case ErrorKind::infrastructure_not_found:
      throw InfrastructureNotFoundError(std::move(message), std::move(operator_detail));
    case ErrorKind::driver:
      break;
  }
  throw ResourceDriverError(std::move(message), std::move(operator_detail));
}

}  // namespace flint::sdk
