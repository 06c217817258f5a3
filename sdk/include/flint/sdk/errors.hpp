#pragma once

/// @file
/// The errors a driver raises, and what the host does with each.

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flint::sdk {

/// What went wrong, as the orchestrator must understand it.
///
/// The kind decides the HTTP status of an API call and how monitoring reacts
/// when the error is raised by a status poll (see each value). A status poll
/// that raises a kind whose value says nothing of polls ends the execution
/// (or infrastructure task) as FAILED with INTERNAL_ERROR.
enum class ErrorKind {
  /// The request is malformed or cannot be served as asked (HTTP 400).
  invalid_request,
  /// The lifecycle name is not one this driver can run (HTTP 400).
  invalid_lifecycle_name,
  /// The driver files are unusable: not an archive, unsafe, or missing what the
  /// driver needs (HTTP 400).
  invalid_driver_files,
  /// No request with the given id exists (HTTP 400, by design of the contract).
  /// Raised by a status poll, monitoring stops without an event (logged at
  /// warn; a lifecycle execution's record says `stopped: request not found`).
  request_not_found,
  /// The deployment location cannot be reached (HTTP 400). Raised by a
  /// status poll, a resource execution is reported as FAILED with
  /// INTERNAL_ERROR; an infrastructure task is polled again later.
  unreachable_location,
  /// The request cannot be handled now but may succeed later (HTTP 503).
  /// Raised by a status poll, monitoring retries with back-off.
  temporary,
  /// Any other failure of the driver (HTTP 500). Raised by a status poll,
  /// monitoring reports the execution as FAILED with INTERNAL_ERROR.
  driver,
  /// The infrastructure template does not parse or uses what the driver does
  /// not support (HTTP 400).
  invalid_template,
  /// No infrastructure with the given id exists (HTTP 400). Raised by a
  /// status poll, monitoring stops without an event (logged).
  infrastructure_not_found,

  // The generic kinds below are those every contract shares (Octavia's,
  // Inmanta's and Delfin's errors map onto them). None of them counts on the
  // target's circuit breaker: the target answered, and answered clearly. On
  // Ignition's APIs each is a 400, the contract's status for a request that
  // cannot be served as asked; raised by a status poll, each ends the
  // execution (or infrastructure task) as FAILED with INTERNAL_ERROR.

  /// Something the request names does not exist on the target (a volume, a
  /// listener, an amphora).
  not_found,
  /// What the request would create exists already (a storage registered
  /// twice, a duplicate serial number).
  already_exists,
  /// The target's state forbids the request now (an object in use, being
  /// changed by someone else).
  conflict,
  /// The target refused the credentials or the rights the driver used (wrong
  /// password, missing permission). Fix the credentials, not the target.
  unauthorized,
  /// The driver, or this version of the target, does not implement what was
  /// asked (an optional operation, an appliance too old for it).
  not_implemented,
};

/// Stable, human-readable name of an error kind (`"invalid_request"`...).
std::string_view to_string(ErrorKind kind) noexcept;
/// Parses the name produced by `to_string(ErrorKind)`; nullopt for anything else.
std::optional<ErrorKind> parse_error_kind(std::string_view name) noexcept;

/// Whether an error of `kind` tells that the target is failing, so that it
/// counts on the target's circuit breaker: `unreachable_location`,
/// `temporary` and `driver`. The other kinds are answers the target gave (the
/// caller's mistake, a missing object, refused credentials, an operation not
/// implemented) and never open a breaker. `TemporaryHostError` is the one
/// exception to its kind: it tells of the host, never counts.
bool counts_against_target(ErrorKind kind) noexcept;

/// The code an error of `kind` carries when its driver names none: the kind
/// in PascalCase (`NotFound`, `InvalidRequest`, `Driver`...).
std::string_view default_code(ErrorKind kind) noexcept;

/// The specific error behind a `DriverError`, for clients that act on it by
/// name (Delfin answers `{"error_code", "error_msg", "error_args"}`): a stable
/// name and the values its message was built from.
///
/// `name` is PascalCase ASCII (`InvalidUsernameOrPassword`), at most 64
/// characters, and stays the same across driver versions; empty means the
/// kind's `default_code`. `args` are the message's values in order (`{"10.0.0.1",
/// "8443"}`); like the message, they are shown to the API user and logged, so
/// never put a secret in them.
struct ErrorCode {
  /// Stable name; empty for the kind's default.
  std::string name{};
  /// Values the message was built from, in order.
  std::vector<std::string> args{};
};

/// Base of every error a driver raises on purpose.
///
/// Carries two messages, as Octavia's provider API does: `what()` is shown to
/// the API user (it becomes `localizedMessage`); `operator_detail()` is for
/// the operator: it is logged (with the API refusal, or with the poll that
/// raised it), never sent to the orchestrator. Neither may contain secrets.
///
/// A third part, `code()` and `args()`, names the specific error for clients
/// that act on it by name (see `ErrorCode`); the kind alone decides the HTTP
/// status, the monitoring and the breaker. Operators see the code in the log
/// when the driver gave one.
///
/// Any other exception escaping a driver call is treated as `ErrorKind::driver`,
/// except that an API call answers `std::bad_alloc` with HTTP 503.
class DriverError : public std::runtime_error {
 public:
  /// Creates an error of `kind` with a user-facing message, an optional
  /// operator-only detail and an optional specific code.
  DriverError(ErrorKind kind, std::string message, std::string operator_detail = {},
              ErrorCode code = {});

  /// The kind of failure.
  ErrorKind kind() const noexcept { return kind_; }
  /// Detail meant for operators (logs), possibly empty.
  const std::string& operator_detail() const noexcept { return operator_detail_; }
  /// The specific error's stable name: the driver's, or `default_code(kind())`.
  const std::string& code() const noexcept { return code_.name; }
  /// The values the message was built from, possibly empty.
  const std::vector<std::string>& args() const noexcept { return code_.args; }
  /// True when the driver named a code or gave arguments of its own.
  bool has_specific_code() const noexcept {
    return !code_.args.empty() || code_.name != default_code(kind_);
  }

 private:
  ErrorKind kind_;
  std::string operator_detail_;
  ErrorCode code_;
};

/// The request is invalid, e.g. a required property is missing (400).
struct InvalidRequestError : DriverError {
  /// @param message what is wrong, naming the field where there is one.
  explicit InvalidRequestError(std::string message, std::string operator_detail = {},
                               ErrorCode code = {})
      : DriverError(ErrorKind::invalid_request, std::move(message), std::move(operator_detail),
                    std::move(code)) {}
};

/// The lifecycle name is not supported by the driver (400).
struct InvalidLifecycleNameError : DriverError {
  /// @param message names the lifecycle and, ideally, what is supported.
  explicit InvalidLifecycleNameError(std::string message, std::string operator_detail = {},
                                     ErrorCode code = {})
      : DriverError(ErrorKind::invalid_lifecycle_name, std::move(message),
                    std::move(operator_detail), std::move(code)) {}
};

/// The driver files are not valid for this driver (400).
struct InvalidDriverFilesError : DriverError {
  /// @param message what is wrong with the files.
  explicit InvalidDriverFilesError(std::string message, std::string operator_detail = {},
                                   ErrorCode code = {})
      : DriverError(ErrorKind::invalid_driver_files, std::move(message), std::move(operator_detail),
                    std::move(code)) {}
};

/// No request with the given id is known (400; stops monitoring).
struct RequestNotFoundError : DriverError {
  /// @param message names the request id.
  explicit RequestNotFoundError(std::string message, std::string operator_detail = {},
                                ErrorCode code = {})
      : DriverError(ErrorKind::request_not_found, std::move(message), std::move(operator_detail),
                    std::move(code)) {}
};

/// The deployment location cannot be reached (400).
struct UnreachableDeploymentLocationError : DriverError {
  /// @param message names the location and the reason.
  explicit UnreachableDeploymentLocationError(std::string message, std::string operator_detail = {},
                                              ErrorCode code = {})
      : DriverError(ErrorKind::unreachable_location, std::move(message), std::move(operator_detail),
                    std::move(code)) {}
};

/// The request cannot be handled now; try again later (503; monitoring retries).
struct TemporaryDriverError : DriverError {
  /// @param message why the driver cannot serve the request now.
  explicit TemporaryDriverError(std::string message, std::string operator_detail = {},
                                ErrorCode code = {})
      : DriverError(ErrorKind::temporary, std::move(message), std::move(operator_detail),
                    std::move(code)) {}
};

/// The host itself cannot serve the request now, through no fault of the
/// target: a local file system is full, a local file cannot be written, the
/// process is out of descriptors (503; monitoring retries). A
/// `TemporaryDriverError`, with one difference: it never counts on the
/// target's circuit breaker (it tells nothing of the target), so a full disk
/// does not leave a location refusing work once space is back.
struct TemporaryHostError : TemporaryDriverError {
  /// @param message what failed on the host, naming the path and the
  ///        system's reason (`cannot write /var/lib/x: No space left on device`).
  explicit TemporaryHostError(std::string message, std::string operator_detail = {},
                              ErrorCode code = {})
      : TemporaryDriverError(std::move(message), std::move(operator_detail), std::move(code)) {}
};

/// A general failure of the driver (500).
struct ResourceDriverError : DriverError {
  /// @param message what failed.
  explicit ResourceDriverError(std::string message, std::string operator_detail = {},
                               ErrorCode code = {})
      : DriverError(ErrorKind::driver, std::move(message), std::move(operator_detail),
                    std::move(code)) {}
};

/// The infrastructure template is not valid (400): name the node and the problem.
struct InvalidTemplateError : DriverError {
  /// @param message what is wrong, e.g. `node_templates.web: unsupported type 'x'`.
  explicit InvalidTemplateError(std::string message, std::string operator_detail = {},
                                ErrorCode code = {})
      : DriverError(ErrorKind::invalid_template, std::move(message), std::move(operator_detail),
                    std::move(code)) {}
};

/// No infrastructure with the given id exists (400; stops monitoring).
struct InfrastructureNotFoundError : DriverError {
  /// @param message names the infrastructure id.
  explicit InfrastructureNotFoundError(std::string message, std::string operator_detail = {},
                                       ErrorCode code = {})
      : DriverError(ErrorKind::infrastructure_not_found, std::move(message),
                    std::move(operator_detail), std::move(code)) {}
};

/// A general failure of an infrastructure driver (500).
struct InfrastructureError : DriverError {
  /// @param message what failed.
  explicit InfrastructureError(std::string message, std::string operator_detail = {},
                               ErrorCode code = {})
      : DriverError(ErrorKind::driver, std::move(message), std::move(operator_detail),
                    std::move(code)) {}
};

/// Something the request names does not exist on the target (400).
struct NotFoundError : DriverError {
  /// @param message names what is missing: `volume 'v1' not found on 'array-2'`.
  explicit NotFoundError(std::string message, std::string operator_detail = {}, ErrorCode code = {})
      : DriverError(ErrorKind::not_found, std::move(message), std::move(operator_detail),
                    std::move(code)) {}
};

/// What the request would create exists already (400).
struct AlreadyExistsError : DriverError {
  /// @param message names what exists: `storage 'FX-123' is already registered`.
  explicit AlreadyExistsError(std::string message, std::string operator_detail = {},
                              ErrorCode code = {})
      : DriverError(ErrorKind::already_exists, std::move(message), std::move(operator_detail),
                    std::move(code)) {}
};

/// The target's state forbids the request now (400).
struct ConflictError : DriverError {
  /// @param message names the state that forbids it: `volume 'v1' is attached to 'vm-3'`.
  explicit ConflictError(std::string message, std::string operator_detail = {}, ErrorCode code = {})
      : DriverError(ErrorKind::conflict, std::move(message), std::move(operator_detail),
                    std::move(code)) {}
};

/// The target refused the driver's credentials or rights (400; never
/// opens the target's breaker).
struct UnauthorizedError : DriverError {
  /// @param message says what was refused, never the credentials themselves.
  explicit UnauthorizedError(std::string message, std::string operator_detail = {},
                             ErrorCode code = {})
      : DriverError(ErrorKind::unauthorized, std::move(message), std::move(operator_detail),
                    std::move(code)) {}
};

/// The driver, or this version of the target, does not implement what
/// was asked (400; never opens the target's breaker).
struct NotImplementedError : DriverError {
  /// @param message names the operation and, where it helps, the version needed.
  explicit NotImplementedError(std::string message, std::string operator_detail = {},
                               ErrorCode code = {})
      : DriverError(ErrorKind::not_implemented, std::move(message), std::move(operator_detail),
                    std::move(code)) {}
};

/// Throws the `DriverError` subclass matching `kind` (`InvalidRequestError`
/// for `invalid_request`...), so that `catch` clauses on the subclasses work
/// for errors rebuilt from a kind (a stored result, a test double).
[[noreturn]] void raise_error(ErrorKind kind, std::string message, std::string operator_detail = {},
                              ErrorCode code = {});

}  // namespace flint::sdk
