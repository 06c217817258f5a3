#include "api/resource_driver_api.hpp"

#include "api/json_route.hpp"
#include "api/resource_driver_requests.hpp"

namespace flint::api {

void add_resource_driver_routes(http::Router& router, service::ResourceDriverService& service,
                                cluster::RequestQueue* queue) {
  if (queue) {
    // Refused now what would only fail later: a body that does not decode,
    // a location no driver serves. The body is queued as it came, copied
    // out of the parse arena onto the heap.
    const auto validate = [&service](const boost::json::value& body) {
      service.router().route(decode_execute_request(body).deployment_location);
      return boost::json::value(body, boost::json::storage_ptr());
    };
    add_json_post_route(router, "/api/driver/lifecycle/execute", http::Status::accepted, validate,
                        [queue](boost::json::value body, service::CallOrigin origin) {
                          return queue->enqueue(std::move(body), std::move(origin));
                        });
  } else {
    add_json_post_route(router, "/api/driver/lifecycle/execute", http::Status::accepted,
                        decode_execute_request,
                        [&service](service::ExecuteCommand command, service::CallOrigin origin) {
                          return service.execute(std::move(command), std::move(origin));
                        });
  }
  add_json_post_route(router, "/api/driver/references/find", http::Status::ok, decode_find_request,
                      [&service](service::FindCommand command, service::CallOrigin origin) {
                        return service.find(std::move(command), std::move(origin));
                      });
}

}  // namespace flint::api
