#include "api/execution_api.hpp"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "http/error_response.hpp"

namespace flint::api {

void add_execution_routes(http::Router& router, service::LifecycleMonitor& monitor) {
  static constexpr std::string_view kPrefix = "/api/driver/lifecycle/executions/";
  router.add_prefix(
      http::Method::get, std::string(kPrefix),
      [&monitor](http::Request& request,
                 http::RequestContext& context) -> boost::asio::awaitable<http::Response> {
        const std::string_view request_id = context.path.substr(kPrefix.size());
        if (request_id.empty() || request_id.find('/') != std::string_view::npos) {
          co_return http::error_response(http::Status::not_found,
                                         fmt::format("no such path: GET {}", context.path),
                                         request.version(), request.keep_alive());
        }
        auto record = monitor.record(request_id);
        if (!record) {
          co_return http::error_response(
              http::Status::bad_request,
              fmt::format("requestId: no execution with id '{}'", request_id), request.version(),
              request.keep_alive());
        }
        co_return http::json_response(http::Status::ok, boost::json::serialize(*record),
                                      request.version(), request.keep_alive());
      });
}

}  // namespace flint::api
