#include "api/json_route.hpp"

#include <fmt/format.h>

#include <flint/sdk/errors.hpp>

#include "api/api_error.hpp"
#include "logging/logging.hpp"

namespace flint::api {

service::CallOrigin call_origin(const http::RequestContext& context) {
  return {context.log_fields, context.tenant_id};
}

http::Response refuse(const http::Request& request, const http::RequestContext& context) {
  http::Response response = current_exception_response(request.version(), request.keep_alive());
  static const auto log = logging::logger("api");
  const unsigned status = response.result_int();
  context.log(*log, status >= 500 ? spdlog::level::err : spdlog::level::info,
              fmt::format("{} refused with {}: {}", context.route, status, [&] {
                try {
                  throw;
                } catch (const sdk::DriverError& e) {
                  // The operator's half of the message goes to the log only.
                  return e.operator_detail().empty()
                             ? std::string(e.what())
                             : fmt::format("{} ({})", e.what(), e.operator_detail());
                } catch (const std::exception& e) {
                  return std::string(e.what());
                }
              }()));
  return response;
}

}  // namespace flint::api
