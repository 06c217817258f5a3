#include "api/resource_driver_requests.hpp"

#include <flint/sdk/errors.hpp>
#include <flint/sdk/json.hpp>

namespace flint::api {
namespace {

const boost::json::object& as_body(const boost::json::value& body) {
  if (!body.is_object()) throw sdk::InvalidRequestError("request body: expected a JSON object");
  return body.get_object();
}

const boost::json::value& required(const boost::json::object& body, std::string_view field) {
  const boost::json::value* value = body.if_contains(field);
  if (value == nullptr || value->is_null()) {
    throw sdk::InvalidRequestError(std::string(field) + ": required");
  }
  return *value;
}

std::string required_string(const boost::json::object& body, std::string_view field) {
  const boost::json::value& value = required(body, field);
  if (!value.is_string())
    throw sdk::InvalidRequestError(std::string(field) + ": expected a string");
  if (value.get_string().empty()) {
    throw sdk::InvalidRequestError(std::string(field) + ": must not be empty");
  }
  return std::string(value.get_string());
}

// Optional maps default to empty; an explicit null counts as absent.
const boost::json::value* optional_field(const boost::json::object& body, std::string_view field) {
  const boost::json::value* value = body.if_contains(field);
  return value == nullptr || value->is_null() ? nullptr : value;
}

}  // namespace

service::ExecuteCommand decode_execute_request(const boost::json::value& value) {
  const boost::json::object& body = as_body(value);
  service::ExecuteCommand request;
  request.lifecycle_name = required_string(body, "lifecycleName");
  request.driver_files = required_string(body, "driverFiles");
  request.system_properties =
      sdk::json::decode_property_map(required(body, "systemProperties"), "systemProperties");
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
      required(body, "deploymentLocation"), "deploymentLocation");
  return request;
}

service::FindCommand decode_find_request(const boost::json::value& value) {
  const boost::json::object& body = as_body(value);
  service::FindCommand request;
  request.instance_name = required_string(body, "instanceName");
  request.driver_files = required_string(body, "driverFiles");
  request.deployment_location = sdk::json::decode_deployment_location(
      required(body, "deploymentLocation"), "deploymentLocation");
  return request;
}

}  // namespace flint::api
