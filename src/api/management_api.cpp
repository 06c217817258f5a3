#include "api/management_api.hpp"

#include <boost/json/serialize.hpp>

#include "http/error_response.hpp"

namespace flint::api {

using boost::asio::awaitable;

void add_health_route(http::Router& router, const health::HealthRegistry& health) {
  router.add(http::Method::get, "/management/health",
             [&health](http::Request& request, http::RequestContext&) -> awaitable<http::Response> {
               auto report = health.report();
               co_return http::json_response(
                   report.healthy ? http::Status::ok : http::Status::service_unavailable,
                   std::move(report.body), request.version(), request.keep_alive());
             });
}

void add_metrics_route(http::Router& router, const metrics::MetricsRegistry& metrics) {
  router.add(
      http::Method::get, "/metrics",
      [&metrics](http::Request& request, http::RequestContext&) -> awaitable<http::Response> {
        http::Response response(http::Status::ok, request.version());
        response.set(http::beast_http::field::content_type,
                     "text/plain; version=0.0.4; charset=utf-8");
        response.keep_alive(request.keep_alive());
        response.body() = metrics.render();
        response.prepare_payload();
        co_return response;
      });
}

}  // namespace flint::api
