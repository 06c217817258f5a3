#include "service/infrastructure_service.hpp"

#include <flint/sdk/infrastructure_driver.hpp>

#include "drivers/guarded_call.hpp"
#include "drivers/host_call_context.hpp"
#include "logging/logging.hpp"
#include "service/infrastructure_monitor.hpp"
#include "service/monitoring_jobs.hpp"

namespace flint::service {

InfrastructureService::InfrastructureService(const drivers::DriverRouter& router,
                                             drivers::DriverManager& drivers,
                                             drivers::DriverPools& pools,
                                             std::chrono::milliseconds call_timeout,
                                             InfrastructureMonitor& monitor)
    : router_(router),
      drivers_(drivers),
      pools_(pools),
      call_timeout_(call_timeout),
      monitor_(monitor),
      log_(logging::logger("service")) {}

namespace {

// What every operation needs: its driver target, the call and its context.
struct Prepared {
  std::shared_ptr<const drivers::DriverManager::Target> target;
  drivers::DriverExecutor::Call call;
  std::shared_ptr<drivers::HostCallContext> context;
};

Prepared prepare(const drivers::DriverRouter& router, drivers::DriverManager& drivers,
                 const sdk::DeploymentLocation& location, std::string_view operation,
                 std::chrono::milliseconds timeout, CallOrigin& origin) {
  const auto& driver = router.route(location);
  note_routed_driver(origin, driver.info.name);
  auto target = drivers.target(driver, location);
  const drivers::DriverExecutor::Call call{driver.info.name, operation,
                                           std::chrono::steady_clock::now() + timeout};
  auto context = std::make_shared<drivers::HostCallContext>(origin.log_fields, origin.tenant_id,
                                                            call.deadline, target->log);
  return {std::move(target), call, std::move(context)};
}

}  // namespace

void InfrastructureService::finish_accepted(const AcceptedFinish& finish,
                                            sdk::InfrastructureTaskAccepted accepted,
                                            std::string_view operation) const {
  const std::string infrastructure_id = accepted.infrastructure_id;
  const std::string request_id = accepted.request_id;
  if (!finish(std::move(accepted))) {
    // Its caller was answered 503 at the deadline: no other line ties these
    // ids to the request.
    log_->warn(
        "infrastructure {}: {} task {} accepted after the call's deadline (answered 503); it "
        "is recorded and monitored",
        infrastructure_id, operation, request_id);
  }
}

boost::asio::awaitable<sdk::InfrastructureTaskAccepted> InfrastructureService::create(
    CreateInfrastructureCommand command, CallOrigin origin) {
  auto p = prepare(router_, drivers_, command.deployment_location, "create_infrastructure",
                   call_timeout_, origin);
  auto work = [this, p, command = std::move(command),
               origin = std::move(origin)](AcceptedFinish finish) mutable {
    logging::ScopedLogContext scope(p.context->log_fields());
    sdk::CreateInfrastructureRequest request{
        .template_text = std::move(command.template_text),
        .template_type = std::move(command.template_type),
        .system_properties = std::move(command.system_properties),
        .properties = std::move(command.properties),
        .deployment_location = std::move(command.deployment_location),
    };
    auto accepted = drivers_.call<sdk::InfrastructureDriver>(
        *p.target, request.deployment_location, /*from_request=*/true, p.call.deadline,
        [&](sdk::InfrastructureDriver& driver) {
          return driver.create_infrastructure(request, *p.context);
        });
    // Durable before the 202 leaves: a crash after this point loses nothing.
    monitor_.accept("create", request.deployment_location, accepted, origin, p.target);
    finish_accepted(finish, std::move(accepted), "create");
  };
  std::function<void(AcceptedFinish)> task = std::move(work);
  co_return co_await drivers::guarded_call_then<sdk::InfrastructureTaskAccepted>(
      drivers_, pools_.for_driver(p.call.driver), *p.target, p.call, std::move(task));
}

boost::asio::awaitable<sdk::InfrastructureTaskAccepted> InfrastructureService::remove(
    DeleteInfrastructureCommand command, CallOrigin origin) {
  auto p = prepare(router_, drivers_, command.deployment_location, "delete_infrastructure",
                   call_timeout_, origin);
  auto work = [this, p, command = std::move(command),
               origin = std::move(origin)](AcceptedFinish finish) {
    logging::ScopedLogContext scope(p.context->log_fields());
    auto accepted = drivers_.call<sdk::InfrastructureDriver>(
        *p.target, command.deployment_location, /*from_request=*/true, p.call.deadline,
        [&](sdk::InfrastructureDriver& driver) {
          return driver.delete_infrastructure(command.infrastructure_id,
                                              command.deployment_location, *p.context);
        });
    monitor_.accept("delete", command.deployment_location, accepted, origin, p.target);
    finish_accepted(finish, std::move(accepted), "delete");
  };
  std::function<void(AcceptedFinish)> task = std::move(work);
  co_return co_await drivers::guarded_call_then<sdk::InfrastructureTaskAccepted>(
      drivers_, pools_.for_driver(p.call.driver), *p.target, p.call, std::move(task));
}

boost::asio::awaitable<sdk::InfrastructureTask> InfrastructureService::query(
    QueryInfrastructureCommand command, CallOrigin origin) {
  auto p = prepare(router_, drivers_, command.deployment_location, "get_infrastructure_task",
                   call_timeout_, origin);
  auto work = [this, p, command = std::move(command)]() {
    logging::ScopedLogContext scope(p.context->log_fields());
    auto task = drivers_.call<sdk::InfrastructureDriver>(
        *p.target, command.deployment_location, /*from_request=*/true, p.call.deadline,
        [&](sdk::InfrastructureDriver& driver) {
          return driver.get_infrastructure_task(command.infrastructure_id, command.request_id,
                                                command.deployment_location, *p.context);
        });
    // The ids the orchestrator asked about, whatever the driver said.
    task.infrastructure_id = command.infrastructure_id;
    task.request_id = command.request_id;
    keep_contract_failure_code(task.failure_details, /*infrastructure_task=*/true);
    return task;
  };
  std::function<sdk::InfrastructureTask()> task = std::move(work);
  co_return co_await drivers::guarded_call<sdk::InfrastructureTask>(
      drivers_, pools_.for_driver(p.call.driver), *p.target, p.call, std::move(task));
}

boost::asio::awaitable<sdk::FindInfrastructureResponse> InfrastructureService::find(
    FindInfrastructureCommand command, CallOrigin origin) {
  auto p = prepare(router_, drivers_, command.deployment_location, "find_infrastructure",
                   call_timeout_, origin);
  auto work = [this, p, command = std::move(command)]() mutable {
    logging::ScopedLogContext scope(p.context->log_fields());
    sdk::FindInfrastructureRequest request{
        .template_text = std::move(command.template_text),
        .template_type = std::move(command.template_type),
        .instance_name = std::move(command.instance_name),
        .deployment_location = std::move(command.deployment_location),
    };
    auto response = drivers_.call<sdk::InfrastructureDriver>(
        *p.target, request.deployment_location, /*from_request=*/true, p.call.deadline,
        [&](sdk::InfrastructureDriver& driver) {
          return driver.find_infrastructure(request, *p.context);
        });
    log_->info("find infrastructure {} at location {}: {}", request.instance_name,
               request.deployment_location.name, response.result ? "found" : "not found");
    return response;
  };
  std::function<sdk::FindInfrastructureResponse()> task = std::move(work);
  co_return co_await drivers::guarded_call<sdk::FindInfrastructureResponse>(
      drivers_, pools_.for_driver(p.call.driver), *p.target, p.call, std::move(task));
}

}  // namespace flint::service
