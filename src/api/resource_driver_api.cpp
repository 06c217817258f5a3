#include "api/resource_driver_api.hpp"

#include "api/json_route.hpp"
#include "api/resource_driver_requests.hpp"

namespace flint::api {

void add_resource_driver_routes(http::Router& router, service::ResourceDriverService& service) {
  add_json_post_route(router, "/api/driver/lifecycle/execute", http::Status::accepted,
                      decode_execute_request,
                      [&service](service::ExecuteCommand command, service::CallOrigin origin) {
                        return service.execute(std::move(command), std::move(origin));
                      });
  add_json_post_route(router, "/api/driver/references/find", http::Status::ok, decode_find_request,
                      [&service](service::FindCommand command, service::CallOrigin origin) {
                        return service.find(std::move(command), std::move(origin));
                      });
}

}  // namespace flint::api
