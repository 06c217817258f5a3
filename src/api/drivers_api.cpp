#include "api/drivers_api.hpp"

#include <boost/json/serialize.hpp>

#include "http/error_response.hpp"

namespace flint::api {

namespace json = boost::json;
using boost::asio::awaitable;

namespace {

json::object routing(const drivers::DriverRouter& router) {
  const auto& routes = router.routes();
  json::object by_type;
  for (const auto& [type, driver] : routes.by_location_type) by_type[type] = driver;
  return {{"default", routes.default_driver},
          {"locationType", std::move(by_type)},
          {"vendorModel", routes.by_vendor_model}};
}

}  // namespace

json::object drivers_listing(const drivers::DriverCatalog& catalog,
                             const drivers::DriverManager& manager,
                             const drivers::DriverRouter* resource_routes,
                             const drivers::DriverRouter* infrastructure_routes) {
  json::array load_errors;
  for (const auto& error : catalog.load_errors()) {
    load_errors.push_back(json::object{{"file", error.file}, {"error", error.message}});
  }
  json::object body{{"drivers", manager.describe()}, {"loadErrors", std::move(load_errors)}};
  if (resource_routes) body["routes"] = routing(*resource_routes);
  if (infrastructure_routes) body["infrastructureRoutes"] = routing(*infrastructure_routes);
  return body;
}

void add_drivers_route(http::Router& router, const drivers::DriverCatalog& catalog,
                       const drivers::DriverManager& manager,
                       const drivers::DriverRouter* resource_routes,
                       const drivers::DriverRouter* infrastructure_routes) {
  router.add(http::Method::get, "/api/drivers",
             [&catalog, &manager, resource_routes, infrastructure_routes](
                 http::Request& request, http::RequestContext&) -> awaitable<http::Response> {
               co_return http::json_response(
                   http::Status::ok,
                   json::serialize(
                       drivers_listing(catalog, manager, resource_routes, infrastructure_routes)),
                   request.version(), request.keep_alive());
             });
}

}  // namespace flint::api
