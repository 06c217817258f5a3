#pragma once

/// @file
/// The errors a driver raises, and what the host does with each.

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

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
};

/// Stable, human-readable name of an error kind (`"invalid_request"`...).
std::string_view to_string(ErrorKind kind) noexcept;
/// Parses the name produced by `to_string(ErrorKind)`; nullopt for anything else.
std::optional<ErrorKind> parse_error_kind(std::string_view name) noexcept;

/// Base of every error a driver raises on purpose.
///
/// Carries two messages, as Octavia's provider API does: `what()` is shown to
/// the API user (it becomes `localizedMessage`); `operator_detail()` is for
/// the operator: it is logged (with the API refusal, or with the poll that
/// raised it), never sent to the orchestrator. Neither may contain secrets.
///
/// Any other exception escaping a driver call is treated as `ErrorKind::driver`,
/// except that an API call answers `std::bad_alloc` with HTTP 503.
class DriverError : public std::runtime_error {
 public:
  /// Creates an error of `kind` with a user-facing message and an optional
  /// operator-only detail.
  DriverError(ErrorKind kind, std::string message, std::string operator_detail = {});

  /// The kind of failure.
  ErrorKind kind() const noexcept { return kind_; }
  /// Detail meant for operators (logs), possibly empty.
  const std::string& operator_detail() const noexcept { return operator_detail_; }

 private:
  ErrorKind kind_;
  std::string operator_detail_;
};

/// The request is invalid, e.g. a required property is missing (400).
struct InvalidRequestError : DriverError {
  /// @param message what is wrong, naming the field where there is one.
  explicit InvalidRequestError(std::string message, std::string operator_detail = {})
      : DriverError(ErrorKind::invalid_request, std::move(message), std::move(operator_detail)) {}
};

/// The lifecycle name is not supported by the driver (400).
struct InvalidLifecycleNameError : DriverError {
  /// @param message names the lifecycle and, ideally, what is supported.
  explicit InvalidLifecycleNameError(std::string message, std::string operator_detail = {})
      : DriverError(ErrorKind::invalid_lifecycle_name, std::move(message),
                    std::move(operator_detail)) {}
};

/// The driver files are not valid for this driver (400).
struct InvalidDriverFilesError : DriverError {
  /// @param message what is wrong with the files.
  explicit InvalidDriverFilesError(std::string message, std::string operator_detail = {})
      : DriverError(ErrorKind::invalid_driver_files, std::move(message),
                    std::move(operator_detail)) {}
};

/// No request with the given id is known (400; stops monitoring).
struct RequestNotFoundError : DriverError {
  /// @param message names the request id.
  explicit RequestNotFoundError(std::string message, std::string operator_detail = {})
      : DriverError(ErrorKind::request_not_found, std::move(message), std::move(operator_detail)) {}
};

/// The deployment location cannot be reached (400).
struct UnreachableDeploymentLocationError : DriverError {
  /// @param message names the location and the reason.
  explicit UnreachableDeploymentLocationError(std::string message, std::string operator_detail = {})
      : DriverError(ErrorKind::unreachable_location, std::move(message),
                    std::move(operator_detail)) {}
};

/// The request cannot be handled now; try again later (503; monitoring retries).
struct TemporaryDriverError : DriverError {
  /// @param message why the driver cannot serve the request now.
  explicit TemporaryDriverError(std::string message, std::string operator_detail = {})
      : DriverError(ErrorKind::temporary, std::move(message), std::move(operator_detail)) {}
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
  explicit TemporaryHostError(std::string message, std::string operator_detail = {})
      : TemporaryDriverError(std::move(message), std::move(operator_detail)) {}
};

/// A general failure of the driver (500).
struct ResourceDriverError : DriverError {
  /// @param message what failed.
  explicit ResourceDriverError(std::string message, std::string operator_detail = {})
      : DriverError(ErrorKind::driver, std::move(message), std::move(operator_detail)) {}
};

/// The infrastructure template is not valid (400): name the node and the problem.
struct InvalidTemplateError : DriverError {
  /// @param message what is wrong, e.g. `node_templates.web: unsupported type 'x'`.
  explicit InvalidTemplateError(std::string message, std::string operator_detail = {})
      : DriverError(ErrorKind::invalid_template, std::move(message), std::move(operator_detail)) {}
};

/// No infrastructure with the given id exists (400; stops monitoring).
struct InfrastructureNotFoundError : DriverError {
  /// @param message names the infrastructure id.
  explicit InfrastructureNotFoundError(std::string message, std::string operator_detail = {})
      : DriverError(ErrorKind::infrastructure_not_found, std::move(message),
                    std::move(operator_detail)) {}
};

/// A general failure of an infrastructure driver (500).
struct InfrastructureError : DriverError {
  /// @param message what failed.
  explicit InfrastructureError(std::string message, std::string operator_detail = {})
      : DriverError(ErrorKind::driver, std::move(message), std::move(operator_detail)) {}
};

/// Throws the `DriverError` subclass matching `kind` (`InvalidRequestError`
/// for `invalid_request`...), so that `catch` clauses on the subclasses work
/// for errors rebuilt from a kind (a stored result, a test double).
[[noreturn]] void raise_error(ErrorKind kind, std::string message,
                              std::string operator_detail = {});

}  // namespace flint::sdk
