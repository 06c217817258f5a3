#pragma once

/// @file
/// The service behind the Resource Driver API: unpacks driver files, runs
/// the driver on the driver executor with a deadline, and logs the outcome.

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <spdlog/logger.h>

#include <flint/sdk/errors.hpp>
#include <flint/sdk/lifecycle.hpp>
#include <flint/sdk/resource_driver.hpp>

#include "drivers/driver_manager.hpp"
#include "drivers/driver_pools.hpp"
#include "drivers/driver_router.hpp"
#include "files/package_cache.hpp"
#include "logging/log_context.hpp"

namespace flint::service {

/// An execute request, validated; the driver files are still base64 text.
struct ExecuteCommand {
  std::string lifecycle_name;
  std::string driver_files;
  sdk::PropertyMap system_properties;
  sdk::PropertyMap resource_properties;
  sdk::PropertyMap request_properties;
  sdk::AssociatedTopology associated_topology;
  sdk::DeploymentLocation deployment_location;
};

/// A find request, validated; the driver files are still base64 text.
struct FindCommand {
  std::string instance_name;
  std::string driver_files;
  sdk::DeploymentLocation deployment_location;
};

/// Who asked: the request's log fields (`tracectx.*`, `tenantId`) and tenant.
struct CallOrigin {
  logging::LogFields log_fields;
  std::string tenant_id;
  /// The request id the orchestrator already holds, when one was promised
  /// before the driver ran (the request queue): the execution is recorded
  /// and reported under it, and polled under the driver's own id.
  std::string promised_request_id{};
  /// When set, asked just before an accepted execution is recorded in the
  /// cluster: why this node may not record it any more (the request queue's
  /// partition went to another worker, which runs the request again), or
  /// null. The record then fails (`AcceptanceNotRecorded`).
  std::function<const char*()> why_not_record{};
  /// Where the service notes the driver it routed the call to (the
  /// request's refusal line names it), or null. Written once, before the
  /// call's first suspension, while the request is certainly alive; see
  /// `note_routed_driver`.
  std::string* routed_driver = nullptr;
};

/// Notes `name` in `origin.routed_driver` and forgets the pointer, so that
/// no copy of the origin (kept by a driver-thread task that may outlive the
/// request) can write through it later.
inline void note_routed_driver(CallOrigin& origin, std::string_view name) {
  if (origin.routed_driver == nullptr) return;
  *origin.routed_driver = name;
  origin.routed_driver = nullptr;
}

/// The driver accepted an execution whose record could not be written now
/// (Kafka or the store failed): a temporary error, but not one to answer by
/// running the request again, since the driver's work has started.
/// `record_again` retries only the record; it calls its argument with the
/// outcome, from any thread (null: recorded and monitored).
class AcceptanceNotRecorded : public sdk::TemporaryDriverError {
 public:
  /// How to retry the record.
  using RecordAgain = std::function<void(std::function<void(std::exception_ptr)> done)>;
  /// `what` says why it failed; `driver_request_id` is the id the driver
  /// gave its run, which an operator needs to find that run if its record
  /// is given up.
  AcceptanceNotRecorded(const std::string& what, std::string driver_request_id,
                        RecordAgain record_again)
      : sdk::TemporaryDriverError(what),
        driver_request_id_(std::move(driver_request_id)),
        record_again_(std::move(record_again)) {}
  /// The driver's own id of the run it accepted.
  const std::string& driver_request_id() const noexcept { return driver_request_id_; }
  /// Retries the record of the accepted execution.
  const RecordAgain& record_again() const noexcept { return record_again_; }

 private:
  std::string driver_request_id_;
  RecordAgain record_again_;
};

class LifecycleMonitor;

/// Serves execute and find requests: routes each to its resource driver,
/// checks the target's breaker, and runs the driver's instance for the
/// target on the driver executor.
///
/// Thread-safe; awaited from a strand (see `DriverExecutor::run`). Every
/// reference passed must outlive the service.
class ResourceDriverService {
 public:
  /// `call_timeout` is the deadline of each driver call (`driver_calls.timeout`).
  /// With a `monitor`, every accepted execution is recorded durably before
  /// the reply and monitored to its end; without one it is only started.
  ResourceDriverService(const drivers::DriverRouter& router, drivers::DriverManager& drivers,
                        files::PackageCache& packages, drivers::DriverPools& pools,
                        std::chrono::milliseconds call_timeout,
                        LifecycleMonitor* monitor = nullptr);

  /// Unpacks the driver files and starts the lifecycle execution.
  /// @throws sdk::DriverError (any kind) from routing, the breaker, the
  ///         files or the driver.
  boost::asio::awaitable<sdk::LifecycleExecuteResponse> execute(ExecuteCommand command,
                                                                CallOrigin origin);

  /// Unpacks the driver files and finds the reference.
  /// @throws sdk::DriverError (any kind) from the files or the driver.
  boost::asio::awaitable<sdk::FindReferenceResponse> find(FindCommand command, CallOrigin origin);

  /// The routing rules.
  const drivers::DriverRouter& router() const noexcept { return router_; }

 private:
  const drivers::DriverRouter& router_;
  drivers::DriverManager& drivers_;
  files::PackageCache& packages_;
  drivers::DriverPools& pools_;
  std::chrono::milliseconds call_timeout_;
  LifecycleMonitor* monitor_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace flint::service
