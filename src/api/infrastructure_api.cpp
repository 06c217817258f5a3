#include "api/infrastructure_api.hpp"

#include "api/infrastructure_requests.hpp"
#include "api/json_route.hpp"

namespace flint::api {

void add_infrastructure_routes(http::Router& router, service::InfrastructureService& service) {
  add_json_post_route(
      router, "/api/infrastructure/create", http::Status::accepted,
      decode_create_infrastructure_request,
      [&service](service::CreateInfrastructureCommand command, service::CallOrigin origin) {
        return service.create(std::move(command), std::move(origin));
      });
  add_json_post_route(
      router, "/api/infrastructure/delete", http::Status::accepted,
      decode_delete_infrastructure_request,
      [&service](service::DeleteInfrastructureCommand command, service::CallOrigin origin) {
        return service.remove(std::move(command), std::move(origin));
      });
  add_json_post_route(
      router, "/api/infrastructure/query", http::Status::ok, decode_query_infrastructure_request,
      [&service](service::QueryInfrastructureCommand command, service::CallOrigin origin) {
        return service.query(std::move(command), std::move(origin));
      });
  add_json_post_route(
      router, "/api/infrastructure/find", http::Status::ok, decode_find_infrastructure_request,
      [&service](service::FindInfrastructureCommand command, service::CallOrigin origin) {
        return service.find(std::move(command), std::move(origin));
      });
}

}  // namespace flint::api
