#pragma once

/// @file
/// The service behind the Infrastructure API: routes each request to its
/// infrastructure driver, runs it on the driver executor with a deadline,
/// and has create and delete tasks monitored to their end.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <spdlog/logger.h>

#include <flint/sdk/infrastructure.hpp>

#include "drivers/driver_manager.hpp"
#include "drivers/driver_pools.hpp"
#include "drivers/driver_router.hpp"
#include "service/resource_driver_service.hpp"

namespace flint::service {

/// A create request, validated.
struct CreateInfrastructureCommand {
  std::string template_text;
  std::string template_type;
  sdk::PropertyMap system_properties;
  sdk::PropertyMap properties;
  sdk::DeploymentLocation deployment_location;
};

/// A delete request, validated.
struct DeleteInfrastructureCommand {
  std::string infrastructure_id;
  sdk::DeploymentLocation deployment_location;
};

/// A query request, validated.
struct QueryInfrastructureCommand {
  std::string infrastructure_id;
  std::string request_id;
  sdk::DeploymentLocation deployment_location;
};

/// A find request, validated.
struct FindInfrastructureCommand {
  std::string template_text;
  std::string template_type;
  std::string instance_name;
  sdk::DeploymentLocation deployment_location;
};

class InfrastructureMonitor;

/// Serves the four infrastructure operations.
///
/// Thread-safe; awaited from a strand (see `DriverExecutor::run`). Every
/// reference passed must outlive the service.
class InfrastructureService {
 public:
  /// `call_timeout` is the deadline of each driver call. Accepted create and
  /// delete tasks are recorded durably by `monitor` before the reply.
  InfrastructureService(const drivers::DriverRouter& router, drivers::DriverManager& drivers,
                        drivers::DriverPools& pools, std::chrono::milliseconds call_timeout,
                        InfrastructureMonitor& monitor);

  /// Starts a create task (`POST /api/infrastructure/create`).
  /// @throws sdk::DriverError (any kind) from routing, the breaker or the driver.
  boost::asio::awaitable<sdk::InfrastructureTaskAccepted> create(
      CreateInfrastructureCommand command, CallOrigin origin);
  /// Starts a delete task (`POST /api/infrastructure/delete`).
  /// @throws sdk::DriverError (any kind).
  boost::asio::awaitable<sdk::InfrastructureTaskAccepted> remove(
      DeleteInfrastructureCommand command, CallOrigin origin);
  /// Asks the driver for a task's status (`POST /api/infrastructure/query`).
  /// @throws sdk::DriverError (any kind); not found is
  ///         `InfrastructureNotFoundError` or `RequestNotFoundError` (400).
  boost::asio::awaitable<sdk::InfrastructureTask> query(QueryInfrastructureCommand command,
                                                        CallOrigin origin);
  /// Finds infrastructure by instance name (`POST /api/infrastructure/find`).
  /// @throws sdk::DriverError (any kind).
  boost::asio::awaitable<sdk::FindInfrastructureResponse> find(FindInfrastructureCommand command,
                                                               CallOrigin origin);

 private:
  using AcceptedFinish = drivers::DriverExecutor::Finish<sdk::InfrastructureTaskAccepted>;
  // Ends a create or delete call with its recorded task; logs the task when
  // its caller was answered 503 at the deadline first.
  void finish_accepted(const AcceptedFinish& finish, sdk::InfrastructureTaskAccepted accepted,
                       std::string_view operation) const;

  const drivers::DriverRouter& router_;
  drivers::DriverManager& drivers_;
  drivers::DriverPools& pools_;
  std::chrono::milliseconds call_timeout_;
  InfrastructureMonitor& monitor_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace flint::service
