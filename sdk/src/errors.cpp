#include <flint/sdk/errors.hpp>

namespace flint::sdk {

namespace {

struct KindNames {
  ErrorKind kind;
  std::string_view name;  // to_string
  std::string_view code;  // default_code
};

// One row per kind: the names can never fall out of step with each other.
constexpr KindNames kKinds[] = {
    {ErrorKind::invalid_request, "invalid_request", "InvalidRequest"},
    {ErrorKind::invalid_lifecycle_name, "invalid_lifecycle_name", "InvalidLifecycleName"},
    {ErrorKind::invalid_driver_files, "invalid_driver_files", "InvalidDriverFiles"},
    {ErrorKind::request_not_found, "request_not_found", "RequestNotFound"},
    {ErrorKind::unreachable_location, "unreachable_location", "UnreachableLocation"},
    {ErrorKind::temporary, "temporary", "Temporary"},
    {ErrorKind::driver, "driver", "Driver"},
    {ErrorKind::invalid_template, "invalid_template", "InvalidTemplate"},
    {ErrorKind::infrastructure_not_found, "infrastructure_not_found", "InfrastructureNotFound"},
    {ErrorKind::not_found, "not_found", "NotFound"},
    {ErrorKind::already_exists, "already_exists", "AlreadyExists"},
    {ErrorKind::conflict, "conflict", "Conflict"},
    {ErrorKind::unauthorized, "unauthorized", "Unauthorized"},
    {ErrorKind::not_implemented, "not_implemented", "NotImplemented"},
};

constexpr const KindNames& kDriverNames = kKinds[6];
static_assert(kDriverNames.kind == ErrorKind::driver);

const KindNames& names_of(ErrorKind kind) noexcept {
  for (const KindNames& names : kKinds) {
    if (names.kind == kind) return names;
  }
  return kDriverNames;  // what any unknown failure is
}

}  // namespace

std::string_view to_string(ErrorKind kind) noexcept {
  return names_of(kind).name;
}

std::string_view default_code(ErrorKind kind) noexcept {
  return names_of(kind).code;
}

std::optional<ErrorKind> parse_error_kind(std::string_view name) noexcept {
  for (const KindNames& names : kKinds) {
    if (names.name == name) return names.kind;
  }
  return std::nullopt;
}

bool counts_against_target(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::unreachable_location:
    case ErrorKind::temporary:
    case ErrorKind::driver:
      return true;
    case ErrorKind::invalid_request:
    case ErrorKind::invalid_lifecycle_name:
    case ErrorKind::invalid_driver_files:
    case ErrorKind::request_not_found:
    case ErrorKind::invalid_template:
    case ErrorKind::infrastructure_not_found:
    case ErrorKind::not_found:
    case ErrorKind::already_exists:
    case ErrorKind::conflict:
    case ErrorKind::unauthorized:
    case ErrorKind::not_implemented:
      return false;
  }
  return true;
}

DriverError::DriverError(ErrorKind kind, std::string message, std::string operator_detail,
                         ErrorCode code)
    : std::runtime_error(std::move(message)),
      kind_(kind),
      operator_detail_(std::move(operator_detail)),
      code_(std::move(code)) {
  if (code_.name.empty()) code_.name = default_code(kind);
}

void raise_error(ErrorKind kind, std::string message, std::string operator_detail, ErrorCode code) {
  switch (kind) {
    case ErrorKind::invalid_request:
      throw InvalidRequestError(std::move(message), std::move(operator_detail), std::move(code));
    case ErrorKind::invalid_lifecycle_name:
      throw InvalidLifecycleNameError(std::move(message), std::move(operator_detail),
                                      std::move(code));
    case ErrorKind::invalid_driver_files:
      throw InvalidDriverFilesError(std::move(message), std::move(operator_detail),
                                    std::move(code));
    case ErrorKind::request_not_found:
      throw RequestNotFoundError(std::move(message), std::move(operator_detail), std::move(code));
    case ErrorKind::unreachable_location:
      throw UnreachableDeploymentLocationError(std::move(message), std::move(operator_detail),
                                               std::move(code));
    case ErrorKind::temporary:
      throw TemporaryDriverError(std::move(message), std::move(operator_detail), std::move(code));
    case ErrorKind::invalid_template:
      throw InvalidTemplateError(std::move(message), std::move(operator_detail), std::move(code));
    case ErrorKind::infrastructure_not_found:
      throw InfrastructureNotFoundError(std::move(message), std::move(operator_detail),
                                        std::move(code));
    case ErrorKind::not_found:
      throw NotFoundError(std::move(message), std::move(operator_detail), std::move(code));
    case ErrorKind::already_exists:
      throw AlreadyExistsError(std::move(message), std::move(operator_detail), std::move(code));
    case ErrorKind::conflict:
      throw ConflictError(std::move(message), std::move(operator_detail), std::move(code));
    case ErrorKind::unauthorized:
      throw UnauthorizedError(std::move(message), std::move(operator_detail), std::move(code));
    case ErrorKind::not_implemented:
      throw NotImplementedError(std::move(message), std::move(operator_detail), std::move(code));
    case ErrorKind::driver:
      break;
  }
  throw ResourceDriverError(std::move(message), std::move(operator_detail), std::move(code));
}

}  // namespace flint::sdk
