#pragma once

/// @file
/// Results of the resource driver contract: execution status, failure
/// details, execute and find responses.

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include <flint/sdk/topology.hpp>

namespace flint::sdk {

/// State of a lifecycle execution.
enum class ExecutionStatus {
  in_progress,  ///< `IN_PROGRESS`: still running; monitoring polls again.
  complete,     ///< `COMPLETE`: finished successfully (terminal).
  failed,       ///< `FAILED`: finished with a failure (terminal).
};

/// Wire name of a status (`"IN_PROGRESS"`, `"COMPLETE"`, `"FAILED"`).
std::string_view to_string(ExecutionStatus status) noexcept;
/// Parses a wire name; nullopt for anything else.
std::optional<ExecutionStatus> parse_execution_status(std::string_view text) noexcept;
/// True for `complete` and `failed`.
constexpr bool is_terminal(ExecutionStatus status) noexcept {
  return status != ExecutionStatus::in_progress;
}

/// Why an execution failed, as the orchestrator classifies it.
enum class FailureCode {
  resource_not_found,       ///< `RESOURCE_NOT_FOUND`: an element of the resource is missing.
  infrastructure_error,     ///< `INFRASTRUCTURE_ERROR`: the infrastructure failed.
  insufficient_capacity,    ///< `INSUFFICIENT_CAPACITY`: not enough capacity in the target.
  internal_error,           ///< `INTERNAL_ERROR`: any other failure.
  resource_already_exists,  ///< `RESOURCE_ALREADY_EXISTS`: infrastructure tasks only.
};

/// Wire name of a failure code (`"INTERNAL_ERROR"`...).
std::string_view to_string(FailureCode code) noexcept;
/// Parses a wire name; nullopt for an unknown code.
std::optional<FailureCode> parse_failure_code(std::string_view text) noexcept;

/// Failure of an execution: a code and a human-readable description.
struct FailureDetails {
  /// The failure classification.
  FailureCode code = FailureCode::internal_error;
  /// What happened, for the orchestrator's user. Must not contain secrets.
  std::string description;

  /// Field-by-field equality.
  bool operator==(const FailureDetails&) const = default;
};

/// Status of one lifecycle execution, as returned by
/// `ResourceDriver::get_lifecycle_execution` and sent in events.
///
/// Invariant kept by the factories: `failure_details` is set exactly when
/// `status` is `failed`.
struct LifecycleExecution {
  /// The driver's id of the request.
  std::string request_id;
  /// Current state.
  ExecutionStatus status = ExecutionStatus::in_progress;
  /// Set when `status` is `failed`.
  std::optional<FailureDetails> failure_details;
  /// Output property values (name -> plain JSON value).
  boost::json::object outputs;
  /// Associated topology changes produced by the execution.
  AssociatedTopology associated_topology;

  /// An execution still running.
  static LifecycleExecution in_progress(std::string request_id);
  /// A successful execution with its outputs and topology.
  static LifecycleExecution complete(std::string request_id, boost::json::object outputs = {},
                                     AssociatedTopology topology = {});
  /// A failed execution.
  static LifecycleExecution failed(std::string request_id, FailureCode code,
                                   std::string description, boost::json::object outputs = {},
                                   AssociatedTopology topology = {});

  /// Field-by-field equality.
  bool operator==(const LifecycleExecution&) const = default;
};

/// Immediate answer to an execute request: the request was accepted.
struct LifecycleExecuteResponse {
  /// The driver's id for this execution (used for status polls and reports).
  /// It must be 1 to 256 bytes of printable ASCII without space, `/`, `?`,
  /// `#`, `%`, `"` or `\`, and never repeat, across restarts of the host and
  /// of the driver too: else the client gets a 500 although the work has
  /// started (with the request queue, whose ids the host makes, the later
  /// run's reports go to the earlier one). `new_time_ordered_id()` makes
  /// such ids.
  std::string request_id;
  /// Topology already known at acceptance (often empty).
  AssociatedTopology associated_topology;
  /// True when the driver will report the terminal status itself through
  /// `ExecuteLifecycleRequest::reporter`; the host then does not poll
  /// (except after a restart of the host, when the reporter is gone and
  /// polling takes over, and in cluster mode, where executions are always
  /// polled and a report is only a shortcut). Not sent on the wire.
  bool reports_completion = false;

  /// Field-by-field equality.
  bool operator==(const LifecycleExecuteResponse&) const = default;
};

/// A resource found by `ResourceDriver::find_reference`.
struct FoundReference {
  /// Id of the found resource.
  std::string resource_id;
  /// Its associated topology.
  AssociatedTopology associated_topology;
  /// Its output property values.
  boost::json::object outputs;

  /// Field-by-field equality.
  bool operator==(const FoundReference&) const = default;
};

/// Answer to a find request: a result, or none (not finding is not an error).
struct FindReferenceResponse {
  /// The found resource, or nullopt when nothing matched.
  std::optional<FoundReference> result;

  /// Field-by-field equality.
  bool operator==(const FindReferenceResponse&) const = default;
};

}  // namespace flint::sdk
