#include "api/infrastructure_requests.hpp"

#include <flint/sdk/json.hpp>

#include "api/json_body.hpp"

namespace flint::api {
namespace {

sdk::DeploymentLocation deployment_location(const boost::json::object& body) {
  return sdk::json::decode_deployment_location(required_field(body, "deploymentLocation"),
                                               "deploymentLocation");
}

}  // namespace

service::CreateInfrastructureCommand decode_create_infrastructure_request(
    const boost::json::value& value) {
  const boost::json::object& body = body_object(value);
  service::CreateInfrastructureCommand command;
  command.template_text = required_string(body, "template");
  command.template_type = required_name(body, "templateType");
  command.system_properties =
      sdk::json::decode_property_map(required_field(body, "systemProperties"), "systemProperties");
  if (const auto* field = optional_field(body, "properties")) {
    command.properties = sdk::json::decode_property_map(*field, "properties");
  }
  command.deployment_location = deployment_location(body);
  return command;
}

service::DeleteInfrastructureCommand decode_delete_infrastructure_request(
    const boost::json::value& value) {
  const boost::json::object& body = body_object(value);
  service::DeleteInfrastructureCommand command;
  command.infrastructure_id = required_name(body, "infrastructureId");
  command.deployment_location = deployment_location(body);
  return command;
}

service::QueryInfrastructureCommand decode_query_infrastructure_request(
    const boost::json::value& value) {
  const boost::json::object& body = body_object(value);
  service::QueryInfrastructureCommand command;
  command.infrastructure_id = required_name(body, "infrastructureId");
  command.request_id = required_name(body, "requestId");
  command.deployment_location = deployment_location(body);
  return command;
}

service::FindInfrastructureCommand decode_find_infrastructure_request(
    const boost::json::value& value) {
  const boost::json::object& body = body_object(value);
  service::FindInfrastructureCommand command;
  command.template_text = required_string(body, "template");
  command.template_type = required_name(body, "templateType");
  command.instance_name = required_name(body, "instanceName");
  command.deployment_location = deployment_location(body);
  return command;
}

}  // namespace flint::api
