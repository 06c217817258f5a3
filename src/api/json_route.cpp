#include "api/json_route.hpp"

#include <chrono>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <flint/sdk/errors.hpp>
#include <flint/sdk/json.hpp>

#include "api/api_error.hpp"
#include "drivers/driver_executor.hpp"
#include "drivers/operator_message.hpp"
#include "drivers/retry_later_error.hpp"
#include "logging/log_throttle.hpp"
#include "logging/logging.hpp"
#include "service/monitoring_jobs.hpp"

namespace flint::api {

service::CallOrigin call_origin(http::RequestContext& context) {
  return {.log_fields = context.log_fields,
          .tenant_id = context.tenant_id,
          .routed_driver = &context.driver};
}

std::string reply_body(boost::json::object encoded, const http::RequestContext& context) {
  std::string body = boost::json::serialize(encoded);
  const service::OutcomeRepairs repairs = service::repair_outcome_text(encoded, body);
  static const auto log = logging::logger("api");
  if (repairs.strings != 0) {
    context.log(*log, spdlog::level::warn,
                fmt::format("{}: {} strings of the driver's reply are not valid UTF-8; each bad "
                            "byte is replaced with U+FFFD",
                            context.route, repairs.strings));
  }
  if (repairs.numbers != 0) {
    context.log(*log, spdlog::level::warn,
                fmt::format("{}: {} numbers of the driver's reply are infinite or NaN, which JSON "
                            "cannot hold; each is replaced with null",
                            context.route, repairs.numbers));
  }
  return body;
}

http::Response refuse(const http::Request& request, const http::RequestContext& context) {
  http::Response response = current_exception_response(request.version(), request.keep_alive());
  static const auto log = logging::logger("api");
  const unsigned status = response.result_int();
  auto level = status >= 500 ? spdlog::level::err : spdlog::level::info;
  std::string message;
  // Refusals whose call never reached a driver come by the thousand per
  // second (a saturated pool, a target whose breaker is open), and a line at
  // error is flushed at once: one line per interval says it goes on, at warn
  // (the load or a known outage, not a fault); the metrics count every one.
  static logging::LogThrottle overload_log(std::chrono::seconds(10));
  static logging::LogThrottle breaker_log(std::chrono::seconds(10));
  logging::LogThrottle* throttle = nullptr;
  const char* held_back_as = "";
  try {
    throw;
  } catch (const std::exception& e) {
    message = drivers::operator_message(e);  // its detail to the log only
    if (dynamic_cast<const drivers::CallRejected*>(&e) != nullptr ||
        dynamic_cast<const drivers::CallExpiredInQueue*>(&e) != nullptr) {
      throttle = &overload_log;  // the queue was full, or the deadline passed in it
      held_back_as = "for overload";
    } else if (dynamic_cast<const drivers::RetryLaterError*>(&e) != nullptr) {
      throttle = &breaker_log;  // the breaker's opening was logged already
      held_back_as = "by open circuit breakers";
    }
  } catch (...) {
    message = "an exception of unknown type";
  }
  if (throttle != nullptr) {
    const auto held_back = throttle->admit();
    if (!held_back) return response;
    level = spdlog::level::warn;
    if (*held_back > 0) {
      message += fmt::format(" ({} more requests refused {} since the last such line, not logged)",
                             *held_back, held_back_as);
    }
  }
  context.log(
      *log, level,
      fmt::format(
          "{} from {} refused with {}{}: {}", context.route, context.peer_address(), status,
          context.driver.empty() ? std::string() : fmt::format(" (driver '{}')", context.driver),
          message));
  return response;
}

}  // namespace flint::api
