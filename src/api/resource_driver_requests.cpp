#include "api/resource_driver_requests.hpp"

#include <flint/sdk/errors.hpp>
#include <flint/sdk/json.hpp>

#include "api/json_body.hpp"

namespace flint::api {

service::ExecuteCommand decode_execute_request(const boost::json::value& value) {
  const boost::json::object& body = body_object(value);
  service::ExecuteCommand request;
  request.lifecycle_name = required_name(body, "lifecycleName");
  request.driver_files = required_string(body, "driverFiles");
  request.system_properties =
      sdk::json::decode_property_map(required_field(body, "systemProperties"), "systemProperties");
  if (const auto* field = optional_field(body, "resourceProperties")) {
    request.resource_properties = sdk::json::decode_property_map(*field, "resourceProperties");
  }
  if (const auto* field = optional_field(body, "requestProperties")) {
    request.request_properties = sdk::json::decode_property_map(*field, "requestProperties");
  }
  if (const auto* field = optional_field(body, "associatedTopology")) {
    request.associated_topology = sdk::json::decode_topology(*field, "associatedTopology");
  }
  request.deployment_location = sdk::json::decode_deployment_location(
      required_field(body, "deploymentLocation"), "deploymentLocation");
  return request;
}

service::FindCommand decode_find_request(const boost::json::value& value) {
  const boost::json::object& body = body_object(value);
  service::FindCommand request;
  request.instance_name = required_name(body, "instanceName");
  request.driver_files = required_string(body, "driverFiles");
  request.deployment_location = sdk::json::decode_deployment_location(
      required_field(body, "deploymentLocation"), "deploymentLocation");
  return request;
}

}  // namespace flint::api
