#include "service/resource_driver_service.hpp"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <flint/sdk/ids.hpp>

#include "drivers/guarded_call.hpp"
#include "drivers/host_call_context.hpp"
#include "logging/logging.hpp"
#include "service/lifecycle_monitor.hpp"

namespace flint::service {

ResourceDriverService::ResourceDriverService(const drivers::DriverRouter& router,
                                             drivers::DriverManager& drivers,
                                             files::PackageCache& packages,
                                             drivers::DriverPools& pools,
                                             std::chrono::milliseconds call_timeout,
                                             LifecycleMonitor* monitor)
    : router_(router),
      drivers_(drivers),
      packages_(packages),
      pools_(pools),
      call_timeout_(call_timeout),
      monitor_(monitor),
      log_(logging::logger("service")) {}

boost::asio::awaitable<sdk::LifecycleExecuteResponse> ResourceDriverService::execute(
    ExecuteCommand body, CallOrigin origin) {
  const auto& driver = router_.route(body.deployment_location);
  note_routed_driver(origin, driver.info.name);
  auto target = drivers_.target(driver, body.deployment_location);
  const drivers::DriverExecutor::Call call{driver.info.name, "execute_lifecycle",
                                           std::chrono::steady_clock::now() + call_timeout_};
  auto context = std::make_shared<drivers::HostCallContext>(origin.log_fields, origin.tenant_id,
                                                            call.deadline, target->log);
  using Finish = drivers::DriverExecutor::Finish<sdk::LifecycleExecuteResponse>;
  const std::string lifecycle_name = body.lifecycle_name;  // for the log, once accepted
  // Unpacking is disk work: it runs on the driver thread with the call. The
  // acceptance is queued from there too, and the call ends when it is
  // durable: a crash after the 202 loses nothing, and no thread waits for
  // the disk meanwhile.
  auto work = [this, context, target, origin = std::move(origin), deadline = call.deadline,
               body = std::move(body)](Finish finish) mutable {
    logging::ScopedLogContext scope(context->log_fields());
    sdk::ExecuteLifecycleRequest request{
        .lifecycle_name = std::move(body.lifecycle_name),
        .driver_files = packages_.acquire(body.driver_files),
        .system_properties = std::move(body.system_properties),
        .resource_properties = std::move(body.resource_properties),
        .request_properties = std::move(body.request_properties),
        .associated_topology = std::move(body.associated_topology),
        .deployment_location = std::move(body.deployment_location),
        .reporter = monitor_ ? monitor_->reporter() : nullptr,
    };
    if (log_->should_log(spdlog::level::debug)) {
      // Names and types, never values: no list of secret-looking names
      // catches every way to call a password (`pwd`, `Authorization`, a URL).
      boost::json::object types;
      for (const auto& [name, property] : request.request_properties) types[name] = property.type();
      log_->debug("execute {} at location {} with driver {}, request properties {}",
                  request.lifecycle_name, request.deployment_location.name,
                  target->driver->info.name, boost::json::serialize(types));
    }
    auto response = drivers_.call<sdk::ResourceDriver>(
        *target, request.deployment_location, /*from_request=*/true, deadline,
        [&](sdk::ResourceDriver& instance) {
          return instance.execute_lifecycle(request, *context);
        });
    if (const std::string problem = sdk::unusable_request_id(response.request_id);
        !problem.empty()) {
      // Named first: a temporary would be destroyed after the caller's thread read it.
      auto error = std::make_exception_ptr(sdk::ResourceDriverError(fmt::format(
          "driver '{}' returned an unusable request id: {}", target->driver->info.name, problem)));
      finish.fail(std::move(error));
      return;
    }
    if (!monitor_) {
      finish(std::move(response));
      return;
    }
    auto accepted = std::make_shared<sdk::LifecycleExecuteResponse>(std::move(response));
    // Kept for a retry of the record alone (AcceptanceNotRecorded); what it
    // holds is moved in, not copied, on every execute's path.
    auto record = std::make_shared<const AcceptanceNotRecorded::RecordAgain>(
        [monitor = monitor_, accepted, target, lifecycle = request.lifecycle_name,
         location = std::move(request.deployment_location),
         origin = std::move(origin)](std::function<void(std::exception_ptr)> done) {
          monitor->accept(lifecycle, location, *accepted, origin, target, std::move(done));
        });
    (*record)([this, finish, accepted, context, record,
               lifecycle = request.lifecycle_name](std::exception_ptr failure) {
      if (failure) {
        // Handed over outside the handler (see DriverExecutor::run_then).
        try {
          std::rethrow_exception(failure);
        } catch (const sdk::TemporaryDriverError& e) {
          // The driver's work has started: a caller that retries must
          // not run it again (see AcceptanceNotRecorded).
          failure = std::make_exception_ptr(
              AcceptanceNotRecorded(e.what(), accepted->request_id, *record));
        } catch (...) {  // any other: handed over as it came
        }
        finish.fail(std::move(failure));
        return;
      }
      std::string request_id = accepted->request_id;
      if (!finish(std::move(*accepted))) {
        // Its caller was answered 503 at the deadline: no other line
        // ties this id to the request.
        logging::ScopedLogContext late_scope(context->log_fields());
        log_->warn(
            "accepted lifecycle {} as request {} after the call's deadline (answered "
            "503); it is recorded and monitored",
            lifecycle, request_id);
      }
    });
  };
  // Named, not a temporary of the co_await expression (GCC 12 coroutine bug).
  std::function<void(Finish)> task = std::move(work);
  auto response = co_await drivers::guarded_call_then<sdk::LifecycleExecuteResponse>(
      drivers_, pools_.for_driver(call.driver), *target, call, std::move(task));
  {
    // A thread's scope, so only around code that does not suspend.
    logging::ScopedLogContext scope(context->log_fields());
    log_->info("accepted lifecycle {} as request {}", lifecycle_name, response.request_id);
  }
  co_return response;
}

boost::asio::awaitable<sdk::FindReferenceResponse> ResourceDriverService::find(FindCommand body,
                                                                               CallOrigin origin) {
  const auto& driver = router_.route(body.deployment_location);
  note_routed_driver(origin, driver.info.name);
  auto target = drivers_.target(driver, body.deployment_location);
  const drivers::DriverExecutor::Call call{driver.info.name, "find_reference",
                                           std::chrono::steady_clock::now() + call_timeout_};
  auto context = std::make_shared<drivers::HostCallContext>(origin.log_fields, origin.tenant_id,
                                                            call.deadline, target->log);
  auto work = [this, context, target, deadline = call.deadline, body = std::move(body)]() mutable {
    logging::ScopedLogContext scope(context->log_fields());
    sdk::FindReferenceRequest request{
        .instance_name = std::move(body.instance_name),
        .driver_files = packages_.acquire(body.driver_files),
        .deployment_location = std::move(body.deployment_location),
    };
    auto response = drivers_.call<sdk::ResourceDriver>(
        *target, request.deployment_location, /*from_request=*/true, deadline,
        [&](sdk::ResourceDriver& instance) { return instance.find_reference(request, *context); });
    // An orchestrator would adopt a resource with no id.
    if (response.result && response.result->resource_id.empty()) {
      throw sdk::ResourceDriverError(fmt::format(
          "driver '{}' found a resource without a resourceId", target->driver->info.name));
    }
    log_->info("find {} at location {}: {}", request.instance_name,
               request.deployment_location.name, response.result ? "found" : "not found");
    return response;
  };
  std::function<sdk::FindReferenceResponse()> task = std::move(work);
  co_return co_await drivers::guarded_call<sdk::FindReferenceResponse>(
      drivers_, pools_.for_driver(call.driver), *target, call, std::move(task));
}

}  // namespace flint::service
