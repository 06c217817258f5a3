#include "api/json_route.hpp"

#include <chrono>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <flint/sdk/errors.hpp>
#include <flint/sdk/json.hpp>

#include "api/api_error.hpp"
#include "drivers/driver_executor.hpp"
#include "drivers/operator_message.hpp"
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
  bool overload = false;
  try {
    throw;
  } catch (const std::exception& e) {
    message = drivers::operator_message(e);  // its detail to the log only
    // The call never reached a driver: the pool's queue was full, or the
    // call's deadline passed while it waited for a thread.
    overload = dynamic_cast<const drivers::CallRejected*>(&e) != nullptr ||
               dynamic_cast<const drivers::CallExpiredInQueue*>(&e) != nullptr;
  } catch (...) {
    message = "an exception of unknown type";
  }
  if (overload) {
    // Overload refuses by the thousand per second, and a line at error is
    // flushed at once: one line per interval says it goes on, at warn (the
    // load, not a fault), and flint_driver_calls_total counts every refusal.
    static logging::LogThrottle throttle(std::chrono::seconds(10));
    const auto held_back = throttle.admit();
    if (!held_back) return response;
    level = spdlog::level::warn;
    if (*held_back > 0) {
      message += fmt::format(
          " ({} more requests refused for overload since the last such line, not logged)",
          *held_back);
    }
  }
  context.log(*log, level,
              fmt::format("{} refused with {}{}: {}", context.route, status,
                          context.driver.empty() ? std::string()
                                                 : fmt::format(" (driver '{}')", context.driver),
                          message));
  return response;
}

}  // namespace flint::api
