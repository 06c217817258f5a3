#include "api/execution_api.hpp"

#include <limits>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/pct_string_view.hpp>
#include <fmt/format.h>

#include <flint/sdk/ids.hpp>
#include <flint/sdk/json.hpp>

#include "api/api_error.hpp"
#include "api/query_params.hpp"
#include "http/error_response.hpp"
#include "logging/logging.hpp"
#include "service/resource_driver_service.hpp"

namespace flint::api {

namespace {

constexpr std::int64_t kMaxListing = 500;
constexpr std::string_view kAfterExpected =
    "the `next` of an earlier page (<acceptedAt>.<requestId>)";

// A page's `next`, and the listing's `after`: `<acceptedAt ms>.<requestId>`.
std::string listing_position(const service::MonitoredPosition& position) {
  return fmt::format("{}.{}", position.accepted_at, position.request_id);
}

service::MonitoredPosition parse_listing_position(std::string_view text) {
  const auto dot = text.find('.');
  if (dot == std::string_view::npos || dot == 0 ||
      !sdk::unusable_request_id(text.substr(dot + 1)).empty()) {
    throw ApiError(http::Status::bad_request, fmt::format("after: expected {}", kAfterExpected));
  }
  return {
      .accepted_at = parse_query_integer("after", text.substr(0, dot), 0,
                                         std::numeric_limits<std::int64_t>::max(), kAfterExpected),
      .request_id = std::string(text.substr(dot + 1))};
}

}  // namespace

void add_execution_routes(http::Router& router, service::LifecycleMonitor& monitor) {
  router.add(
      http::Method::get, "/api/driver/lifecycle/executions",
      [&monitor](http::Request& request,
                 http::RequestContext&) -> boost::asio::awaitable<http::Response> {
        service::MonitoredPage page;
        try {
          const auto params = known_query_params(request.target(), {"limit", "after"});
          std::int64_t limit = 100;
          if (const auto* text = query_param(params, "limit")) {
            limit = parse_query_integer("limit", *text, 1, kMaxListing,
                                        fmt::format("an integer from 1 to {}", kMaxListing));
          }
          std::optional<service::MonitoredPosition> after;
          if (const auto* text = query_param(params, "after")) {
            after = parse_listing_position(*text);
          }
          page = monitor.monitored_records(after, static_cast<std::size_t>(limit));
        } catch (const ApiError&) {
          co_return current_exception_response(request.version(), request.keep_alive());
        } catch (const std::exception& e) {
          logging::logger("api")->error("the monitored executions cannot be read: {}", e.what());
          co_return http::error_response(http::Status::internal_server_error,
                                         "the execution records cannot be read; see the server log",
                                         request.version(), request.keep_alive());
        }
        boost::json::array executions;
        for (auto& record : page.records) {
          sdk::json::repair_utf8(record);
          executions.emplace_back(std::move(record));
        }
        const boost::json::object body{
            {"executions", std::move(executions)},
            {"next", page.next ? boost::json::value(listing_position(*page.next))
                               : boost::json::value(nullptr)}};
        co_return http::json_response(http::Status::ok, boost::json::serialize(body),
                                      request.version(), request.keep_alive());
      });

  static constexpr std::string_view kPrefix = "/api/driver/lifecycle/executions/";
  router.add_prefix(
      http::Method::get, std::string(kPrefix),
      [&monitor](http::Request& request,
                 http::RequestContext& context) -> boost::asio::awaitable<http::Response> {
        const std::string_view segment = context.path.substr(kPrefix.size());
        if (segment.empty() || segment.find('/') != std::string_view::npos) {
          co_return http::error_response(http::Status::not_found,
                                         fmt::format("no such path: GET {}", context.path),
                                         request.version(), request.keep_alive());
        }
        // A path segment may percent-encode any byte (Java's URI encoder
        // writes `{` as %7B); request ids hold no '%', so decoding is
        // unambiguous. A bad escape is left as it is, and refused below.
        const auto escaped = boost::urls::make_pct_string_view(segment);
        const std::string request_id = escaped ? escaped->decode() : std::string(segment);
        if (const std::string problem = sdk::unusable_request_id(request_id); !problem.empty()) {
          // Not echoed: it may hold any byte once decoded.
          co_return http::error_response(http::Status::bad_request,
                                         fmt::format("requestId: not a request id: {}", problem),
                                         request.version(), request.keep_alive());
        }
        std::optional<boost::json::object> record;
        try {
          record = monitor.record(request_id);
        } catch (const std::exception& e) {
          // A damaged flint.db, most likely: the detail, naming the file,
          // goes to the server log and to the store vital.
          logging::logger("api")->error("execution {}: its record cannot be read: {}", request_id,
                                        e.what());
          co_return http::error_response(http::Status::internal_server_error,
                                         "the execution record cannot be read; see the server log",
                                         request.version(), request.keep_alive());
        }
        if (!record) {
          co_return http::error_response(
              http::Status::bad_request,
              fmt::format("requestId: no execution with id '{}'", request_id), request.version(),
              request.keep_alive());
        }
        // JSON text must be UTF-8 whatever was stored (a tenant id an older
        // build accepted in Latin-1).
        sdk::json::repair_utf8(*record);
        co_return http::json_response(http::Status::ok, boost::json::serialize(*record),
                                      request.version(), request.keep_alive());
      });
}

}  // namespace flint::api
