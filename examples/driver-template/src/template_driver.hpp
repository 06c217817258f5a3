#pragma once

/// @file
/// The `template` resource driver: simulates lifecycle executions that take a
/// configurable time. Replace the simulation with calls to your target system.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <flint/sdk/driver_plugin.hpp>
#include <flint/sdk/resource_driver.hpp>

/// The code of this driver library.
namespace driver {

/// The executions started by every instance of the driver. The host replaces
/// a per_target instance when a request brings new properties for its
/// location (rotated credentials), when it is idle too long, or over the
/// instance limit; polls of the executions it started then go to its
/// successor. A real driver asks the target system; this simulation keeps
/// them here, shared by the instances (made once, at registration).
struct ExecutionBook {
  /// One started execution.
  struct Execution {
    std::string lifecycle_name;                     ///< as requested
    std::chrono::steady_clock::time_point started;  ///< when execute returned
  };
  std::mutex mutex;  ///< guards `executions`
  /// By request id.
  std::map<std::string, Execution, std::less<>> executions;
};

/// A resource driver whose executions complete `work_duration` after they
/// start, with the lifecycle name as their output `lifecycleName`.
///
/// Thread-safety: every method may be called concurrently; the book's mutex
/// guards the executions. State is kept in memory only: after a restart of
/// the host a poll of an earlier execution raises `RequestNotFoundError`.
class TemplateDriver final : public flint::sdk::ResourceDriver {
 public:
  /// Name of the setting that sets how long each execution takes.
  static constexpr std::string_view kWorkDurationSetting = "work_duration";

  /// The driver's description and settings, as registered with the host.
  static flint::sdk::DriverInfo info();

  /// Makes an instance from the host's validated settings, sharing `book`
  /// with the driver's other instances (the factory registered with
  /// `info()`).
  static std::unique_ptr<flint::sdk::ResourceDriver> make(
      const flint::sdk::DriverInstanceContext& context, std::shared_ptr<ExecutionBook> book);

  /// Makes a driver whose executions take `work_duration` (>= 0), kept in
  /// `book` (a book of its own by default).
  explicit TemplateDriver(std::chrono::milliseconds work_duration,
                          std::shared_ptr<ExecutionBook> book = std::make_shared<ExecutionBook>());

  /// Accepts `Create`, `Install`, `Configure`, `Start`, `Stop`, `Uninstall`
  /// and `Delete`; returns a new time-ordered request id.
  /// @throws flint::sdk::InvalidLifecycleNameError for any other lifecycle.
  flint::sdk::LifecycleExecuteResponse execute_lifecycle(
      const flint::sdk::ExecuteLifecycleRequest& request,
      flint::sdk::CallContext& context) override;

  /// `IN_PROGRESS` until `work_duration` has elapsed since the execution
  /// started, then `COMPLETE`.
  /// @throws flint::sdk::RequestNotFoundError for an unknown request id.
  flint::sdk::LifecycleExecution get_lifecycle_execution(
      std::string_view request_id, const flint::sdk::DeploymentLocation& location,
      flint::sdk::CallContext& context) override;

  /// Finds nothing: the response has no result.
  flint::sdk::FindReferenceResponse find_reference(const flint::sdk::FindReferenceRequest& request,
                                                   flint::sdk::CallContext& context) override;

  /// Forgets the execution.
  void on_execution_delivered(std::string_view request_id,
                              const flint::sdk::DeploymentLocation& location,
                              flint::sdk::CallContext& context) override;

 private:
  const std::chrono::milliseconds work_duration_;
  const std::shared_ptr<ExecutionBook> book_;
};

}  // namespace driver
