#include "api/drivers_api.hpp"

#include <boost/json/serialize.hpp>

#include "http/error_response.hpp"

namespace flint::api {

namespace json = boost::json;
using boost::asio::awaitable;

json::object drivers_listing(const drivers::DriverCatalog& catalog,
                             const drivers::DriverManager& manager,
                             const drivers::DriverRouter* routes) {
  json::array load_errors;
  for (const auto& error : catalog.load_errors()) {
    load_errors.push_back(json::object{{"file", error.file}, {"error", error.message}});
  }
  json::object body{{"drivers", manager.describe()}, {"loadErrors", std::move(load_errors)}};
  if (routes) {
    json::object by_type;
    for (const auto& [type, driver] : routes->routes().by_location_type) by_type[type] = driver;
    body["routes"] = json::object{{"default", routes->routes().default_driver},
                                  {"locationType", std::move(by_type)},
                                  {"vendorModel", routes->routes().by_vendor_model}};
  }
  return body;
}

void add_drivers_route(http::Router& router, const drivers::DriverCatalog& catalog,
                       const drivers::DriverManager& manager, const drivers::DriverRouter& routes) {
  router.add(http::Method::get, "/api/drivers",
             [&catalog, &manager, &routes](http::Request& request,
                                           http::RequestContext&) -> awaitable<http::Response> {
               co_return http::json_response(
                   http::Status::ok, json::serialize(drivers_listing(catalog, manager, &routes)),
                   request.version(), request.keep_alive());
             });
}

}  // namespace flint::api
