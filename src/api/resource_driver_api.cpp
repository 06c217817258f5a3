#include "api/resource_driver_api.hpp"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <flint/sdk/json.hpp>

#include "api/api_error.hpp"
#include "api/json_body.hpp"
#include "api/resource_driver_requests.hpp"
#include "http/error_response.hpp"
#include "logging/logging.hpp"

namespace flint::api {
namespace {

using boost::asio::awaitable;

service::CallOrigin origin_of(const http::RequestContext& context) {
  return {context.log_fields, context.tenant_id};
}

// Logs a refused request: client mistakes at info, our failures at error.
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

}  // namespace

void add_resource_driver_routes(http::Router& router, service::ResourceDriverService& service) {
  router.add(http::Method::post, "/api/driver/lifecycle/execute",
             [&service](http::Request& request,
                        http::RequestContext& context) -> awaitable<http::Response> {
               try {
                 auto command = decode_execute_request(parse_json_body(request));
                 // The body can be megabytes of base64: free it as soon as decoded.
                 request.body().clear();
                 request.body().shrink_to_fit();
                 // Named, not temporaries of the co_await: GCC 12 may destroy those twice.
                 auto origin = origin_of(context);
                 const auto accepted =
                     co_await service.execute(std::move(command), std::move(origin));
                 co_return http::json_response(http::Status::accepted,
                                               boost::json::serialize(sdk::json::encode(accepted)),
                                               request.version(), request.keep_alive());
               } catch (...) {
                 co_return refuse(request, context);
               }
             });

  router.add(http::Method::post, "/api/driver/references/find",
             [&service](http::Request& request,
                        http::RequestContext& context) -> awaitable<http::Response> {
               try {
                 auto command = decode_find_request(parse_json_body(request));
                 request.body().clear();
                 request.body().shrink_to_fit();
                 auto origin = origin_of(context);
                 const auto found = co_await service.find(std::move(command), std::move(origin));
                 co_return http::json_response(http::Status::ok,
                                               boost::json::serialize(sdk::json::encode(found)),
                                               request.version(), request.keep_alive());
               } catch (...) {
                 co_return refuse(request, context);
               }
             });
}

}  // namespace flint::api
