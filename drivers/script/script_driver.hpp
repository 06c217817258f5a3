#pragma once

/// @file
/// The `script` resource driver: runs the lifecycle scripts shipped in the
/// driver files, as Ignition's Ansible driver runs playbooks.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <flint/sdk/resource_driver.hpp>

#include "script/child_process.hpp"

namespace flint::drivers::script {

/// Name under which the driver is registered.
inline constexpr std::string_view kDriverName = "script";

/// Settings of a `ScriptDriver`.
struct Options {
  /// Where per-execution working directories live (`<dir>/<request id>/`);
  /// created (mode 0700) if missing. Must survive a host restart for the
  /// outcome of running scripts to be learned after it.
  std::filesystem::path executions_dir = "./script_executions";
  /// Timeout of a lifecycle (and of Find) without a manifest
  /// `timeoutSeconds`, counted from the start of its process. Must be > 0.
  std::chrono::milliseconds default_timeout = std::chrono::hours(1);
  /// How many scripts run at once; later executions wait in a FIFO (and are
  /// reported IN_PROGRESS). Must be > 0. Find scripts are not counted.
  std::size_t max_concurrent = 8;
  /// How much of the end of stderr goes into a failure description. Must be > 0.
  std::size_t stderr_tail_bytes = 2048;
  /// Absolute path of the shell that runs `scripts/<Name>.sh` files.
  std::string shell = "/bin/sh";
  /// Time between SIGTERM and SIGKILL when a timeout kills a process group.
  std::chrono::milliseconds kill_grace = std::chrono::seconds(5);
  /// Keep working directories after delivery (for debugging; they hold the
  /// request with its credentials, so never in production).
  bool keep_work_dirs = false;
  /// A working directory whose script is not running and that has not
  /// changed for this long is removed (at start, then hourly): no host asks
  /// for it any more. It covers what `on_execution_delivered` cannot: a crash
  /// between its creation and the host's record of the execution, or a
  /// delivery after a host restart. Keep it above the host's total deadline
  /// of an execution. Must be > 0.
  std::chrono::milliseconds abandoned_after = std::chrono::hours(7);
};

/// A resource driver that runs a shell script or a command per lifecycle.
///
/// Package layout, request document, result file and environment are
/// documented in `drivers/script/README.md`. In short: lifecycle `Create` runs
/// `scripts/Create.sh` (or the command of `scripts/manifest.json`) in a fresh
/// working directory, with the request as JSON on stdin and in
/// `$FLINT_REQUEST_FILE`; exit code 0 means COMPLETE, anything else FAILED.
/// No request value ever reaches a shell command line.
///
/// Durability: every state change is a file in the working directory, and a
/// supervisor shell records the exit code there, so a driver created after a
/// host restart on the same `executions_dir` reports executions started by
/// the previous process (it polls; it cannot push).
///
/// Threads: one monitor thread watches the running processes (pidfds), kills
/// those past their timeout, starts queued ones and pushes results to the
/// request's `ExecutionReporter`. Every public method may be called
/// concurrently.
///
/// Lifetime: the destructor joins the monitor thread but leaves running
/// scripts alone (a host restart must not kill work in progress); queued
/// executions never start and later report FAILED.
class ScriptDriver final : public sdk::ResourceDriver {
 public:
  /// A driver with the given options.
  /// @throws std::invalid_argument naming the field for an invalid option;
  ///         std::system_error when `executions_dir` cannot be created.
  explicit ScriptDriver(Options options);
  /// Starts a lifecycle's process with `spawner` instead of
  /// `ChildProcess::spawn` (tests use it to make starting fail).
  ScriptDriver(Options options, std::function<ChildProcess(const SpawnSpec&)> spawner);
  ~ScriptDriver() override;

  ScriptDriver(const ScriptDriver&) = delete;
  ScriptDriver& operator=(const ScriptDriver&) = delete;

  /// Creates the working directory with `request.json`, then starts the
  /// script (or queues it) and returns at once with a new UUID v7 request id.
  /// `reports_completion` is true when the request carries a reporter.
  /// @throws sdk::InvalidLifecycleNameError (listing the lifecycles the
  ///         package has), sdk::InvalidDriverFilesError (bad manifest, no
  ///         driver files), sdk::ResourceDriverError (the working directory or
  ///         the process could not be created).
  sdk::LifecycleExecuteResponse execute_lifecycle(const sdk::ExecuteLifecycleRequest& request,
                                                  sdk::CallContext& context) override;

  /// Reads the state from the working directory (and the in-memory queue):
  /// IN_PROGRESS while queued or running; the terminal execution once the
  /// script ended; FAILED INTERNAL_ERROR when the process vanished without
  /// an exit status (host restart). Idempotent. After a host restart it also
  /// enforces the timeout recorded for the process.
  /// @throws sdk::RequestNotFoundError for an id without working directory;
  ///         sdk::TemporaryHostError naming the file when one it needs cannot
  ///         be read now (out of descriptors, an I/O error): poll again later.
  sdk::LifecycleExecution get_lifecycle_execution(std::string_view request_id,
                                                  const sdk::DeploymentLocation& location,
                                                  sdk::CallContext& context) override;

  /// Runs the package's Find command synchronously, bounded by the call's
  /// deadline and its timeout (the process group is killed past either).
  /// A package without Find finds nothing, as Ignition's Ansible driver.
  /// @throws sdk::ResourceDriverError when the script fails, times out or
  ///         writes a malformed result; sdk::InvalidDriverFilesError for a
  ///         bad manifest; sdk::TemporaryHostError when its exit status or
  ///         result file cannot be read now.
  sdk::FindReferenceResponse find_reference(const sdk::FindReferenceRequest& request,
                                            sdk::CallContext& context) override;

  /// Removes the working directory (unless `keep_work_dirs`). Ignores
  /// unknown ids and executions still queued or running.
  void on_execution_delivered(std::string_view request_id, const sdk::DeploymentLocation& location,
                              sdk::CallContext& context) override;

  /// Number of executions running now (started by this instance).
  std::size_t running() const;
  /// Number of executions waiting for a slot.
  std::size_t queued() const;
  /// The options this driver was built with (`executions_dir` made absolute).
  const Options& options() const noexcept { return options_; }

 private:
  struct Impl;  // processes, queue and monitor thread, kept out of the header

  Options options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flint::drivers::script
