#pragma once

/// @file
/// The `noop` resource driver: talks to no system; every outcome is scripted
/// by `noop.*` request properties. Used by tests, benchmarks and demos.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <flint/sdk/errors.hpp>
#include <flint/sdk/lifecycle.hpp>
#include <flint/sdk/resource_driver.hpp>

namespace flint::drivers::noop {

/// Name under which the driver is registered.
inline constexpr std::string_view kDriverName = "noop";

/// Terminal outcome of an execution.
enum class Outcome { complete, failed };

/// Driver-wide defaults, used when neither the request properties nor the
/// resource properties set a `noop.*` property (see README.md).
struct Options {
  /// Terminal status when `noop.outcome` is not set.
  Outcome outcome = Outcome::complete;
  /// Failure code when `noop.failureCode` is not set.
  sdk::FailureCode failure_code = sdk::FailureCode::internal_error;
  /// Failure description when `noop.failureDescription` is not set.
  std::string failure_description = "noop driver: failure requested";
  /// IN_PROGRESS polls before the terminal status when `noop.pollsInProgress`
  /// is not set. Must be >= 0.
  std::int64_t polls_in_progress = 0;
  /// Latency added to every call when `noop.latencyMs` is not set. Must be >= 0.
  std::chrono::milliseconds latency{0};
  /// Whether `find_reference` finds `noop-<instanceName>` when the deployment
  /// location has no `noop.find` property.
  bool find_found = true;
  /// Capacity of the call log ring (`NoopDriver::calls()`); 0 disables it.
  std::size_t call_log_size = 1024;
  /// Directory holding request state as one JSON file per request, so that
  /// several processes (the nodes of a cluster) share one simulated target.
  /// Empty: state is kept in memory, seen by this driver instance only.
  std::filesystem::path state_dir;
};

/// Which driver method a recorded call was.
enum class NoopCallKind { execute, get, find, delivered };

/// Name of a call kind (`"execute"`, `"get"`, `"find"`, `"delivered"`).
std::string_view to_string(NoopCallKind kind) noexcept;

/// One recorded call of the driver.
struct NoopCall {
  /// The method called.
  NoopCallKind kind = NoopCallKind::execute;
  /// The request id (execute: the new id, empty when the call was refused;
  /// get/delivered: the id asked for), or the instance name for find.
  std::string subject;
  /// The lifecycle name: for execute, and for get/delivered of a known
  /// request; empty otherwise.
  std::string lifecycle_name;

  /// Field-by-field equality.
  bool operator==(const NoopCall&) const = default;
};

/// A resource driver that does nothing, as told.
///
/// Behaviour per execution comes from `noop.*` properties, looked up in the
/// request properties, then the resource properties, then `Options` (a
/// property with a null value counts as absent). `find_reference` reads the
/// deployment location's properties instead. Every property is documented in
/// `drivers/noop/README.md`. A bad value raises `InvalidRequestError` naming
/// the property, e.g. `requestProperties.noop.outcome: ...`.
///
/// Thread-safety: every method may be called concurrently. Request state sits
/// in 16 shards, each with its own mutex; the call log has one mutex held only
/// to append. Latency (`noop.latencyMs`) is a plain sleep on the calling
/// thread, outside every lock, and does not look at the call's deadline (the
/// host's deadline handling is what a slow noop is there to exercise).
///
/// With `Options::state_dir`, request state is instead the file
/// `<state_dir>/<request id>.json`, replaced atomically (temporary file, fsync,
/// rename) and read-modify-written under an exclusive `flock` of
/// `<state_dir>/<request id>.lock`, so drivers in several processes may serve
/// the same requests. The call log stays per instance.
///
/// Memory: one entry per execution until `on_execution_delivered` forgets it;
/// the call log is a ring of `Options::call_log_size` entries.
class NoopDriver final : public sdk::ResourceDriver {
 public:
  /// A driver with the default options.
  NoopDriver();
  /// A driver with the given defaults; creates `state_dir` when missing.
  /// @throws std::invalid_argument naming the field when `polls_in_progress`
  ///         or `latency` is negative.
  /// @throws std::runtime_error naming the path when `state_dir` is set and
  ///         cannot be created.
  explicit NoopDriver(Options options);
  ~NoopDriver() override;

  NoopDriver(const NoopDriver&) = delete;
  NoopDriver& operator=(const NoopDriver&) = delete;

  /// Accepts the execution and returns a new time-ordered UUID (v7) as request id,
  /// with `noop.acceptTopology` as associated topology.
  /// @throws InvalidRequestError for a bad `noop.*` value; the error named by
  ///         `noop.raise` when it is set (the execution is then not kept);
  ///         ResourceDriverError naming the file when the state cannot be written.
  sdk::LifecycleExecuteResponse execute_lifecycle(const sdk::ExecuteLifecycleRequest& request,
                                                  sdk::CallContext& context) override;

  /// IN_PROGRESS for the first `noop.pollsInProgress` polls, then the terminal
  /// execution (repeated on every later poll): COMPLETE with `noop.outputs` and
  /// `noop.topology`, or FAILED with the failure code and description.
  /// @throws RequestNotFoundError naming the id when it is unknown (never
  ///         accepted, or already delivered); the error named by
  ///         `noop.raiseOnPoll` for the first `noop.raiseOnPollTimes` polls;
  ///         ResourceDriverError naming the file when a state file cannot be
  ///         read, parsed or rewritten.
  sdk::LifecycleExecution get_lifecycle_execution(std::string_view request_id,
                                                  const sdk::DeploymentLocation& location,
                                                  sdk::CallContext& context) override;

  /// Driven by the location's properties: `noop.find` (an object with
  /// `resourceId`, `outputs`, `associatedTopology`, or null for "not found"),
  /// else `Options::find_found` (`noop-<instanceName>`, no outputs, no topology).
  /// @throws InvalidRequestError for a bad value; the error named by the
  ///         location's `noop.raise`.
  sdk::FindReferenceResponse find_reference(const sdk::FindReferenceRequest& request,
                                            sdk::CallContext& context) override;

  /// Forgets the execution, removing its state files (unknown ids are ignored).
  void on_execution_delivered(std::string_view request_id, const sdk::DeploymentLocation& location,
                              sdk::CallContext& context) override;

  /// The recorded calls, oldest first (at most `Options::call_log_size`).
  std::vector<NoopCall> calls() const;
  /// Number of executions kept (accepted and not yet delivered); with a
  /// `state_dir`, those of every process sharing it.
  std::size_t active_requests() const;
  /// The defaults this driver was built with.
  const Options& options() const noexcept { return options_; }

 private:
  struct Impl;  // request shards and the call log, kept out of the header

  Options options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flint::drivers::noop
