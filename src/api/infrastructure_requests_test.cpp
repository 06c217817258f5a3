#include "api/infrastructure_requests.hpp"

#include <functional>
#include <string>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <flint/sdk/errors.hpp>

#include "api/api_error.hpp"

namespace flint::api {
namespace {

boost::json::value valid_create() {
  return boost::json::parse(R"({
    "template": "tosca_definitions_version: tosca_simple_yaml_1_0\n",
    "templateType": "TOSCA",
    "systemProperties": {"resourceId": {"type": "string", "value": "r1"},
                         "resourceName": {"type": "string", "value": "web"}},
    "properties": {"size": {"type": "integer", "value": 2}},
    "deploymentLocation": {"name": "dl", "type": "noop", "properties": {"region": "eu"}}
  })");
}

boost::json::value valid_delete() {
  return boost::json::parse(R"({"infrastructureId": "i-1", "deploymentLocation": {"name": "dl"}})");
}

boost::json::value valid_query() {
  return boost::json::parse(
      R"({"infrastructureId": "i-1", "requestId": "q-1", "deploymentLocation": {"name": "dl"}})");
}

boost::json::value valid_find() {
  return boost::json::parse(R"({"template": "t", "templateType": "HEAT", "instanceName": "web",
                                "deploymentLocation": {"name": "dl"}})");
}

// The message of the error `decode` throws on `body` changed by `mutate`.
template <class Decode>
std::string error_of(const boost::json::value& valid, Decode decode,
                     const std::function<void(boost::json::object&)>& mutate) {
  auto body = valid;
  mutate(body.as_object());
  try {
    decode(body);
  } catch (const sdk::InvalidRequestError& e) {
    return e.what();
  }
  return "no error";
}

std::string create_error(const std::function<void(boost::json::object&)>& mutate) {
  return error_of(valid_create(), decode_create_infrastructure_request, mutate);
}

TEST(CreateInfrastructureRequest, DecodesEveryField) {
  const auto command = decode_create_infrastructure_request(valid_create());
  EXPECT_EQ(command.template_text, "tosca_definitions_version: tosca_simple_yaml_1_0\n");
  EXPECT_EQ(command.template_type, "TOSCA");
  EXPECT_EQ(command.system_properties.string_or("resourceName", ""), "web");
  EXPECT_EQ(command.properties.at("size").as_integer(), 2);
  EXPECT_EQ(command.deployment_location.name, "dl");
  EXPECT_EQ(command.deployment_location.type, "noop");
}

TEST(CreateInfrastructureRequest, PropertiesAreOptional) {
  auto body = valid_create();
  body.as_object().erase("properties");
  EXPECT_TRUE(decode_create_infrastructure_request(body).properties.empty());
  body.as_object()["properties"] = nullptr;
  EXPECT_TRUE(decode_create_infrastructure_request(body).properties.empty());
}

TEST(CreateInfrastructureRequest, NamesTheFieldThatIsWrong) {
  EXPECT_EQ(create_error([](auto& b) { b.erase("template"); }), "template: required");
  EXPECT_EQ(create_error([](auto& b) { b["template"] = ""; }), "template: must not be empty");
  EXPECT_EQ(create_error([](auto& b) { b["template"] = nullptr; }), "template: required");
  EXPECT_EQ(create_error([](auto& b) { b["templateType"] = 1; }),
            "templateType: expected a string");
  EXPECT_EQ(create_error([](auto& b) { b.erase("templateType"); }), "templateType: required");
  EXPECT_EQ(create_error([](auto& b) { b.erase("systemProperties"); }),
            "systemProperties: required");
  EXPECT_EQ(create_error([](auto& b) { b["systemProperties"].as_object()["resourceId"] = "r1"; }),
            "systemProperties.resourceId: expected an object with \"type\"");
  EXPECT_EQ(create_error([](auto& b) { b["properties"] = boost::json::array(); }).substr(0, 12),
            "properties: ");
  EXPECT_EQ(create_error([](auto& b) { b.erase("deploymentLocation"); }),
            "deploymentLocation: required");
  EXPECT_EQ(create_error([](auto& b) { b["deploymentLocation"].as_object()["name"] = ""; }),
            "deploymentLocation.name: must not be empty");
}

TEST(DeleteInfrastructureRequest, RequiresIdAndLocation) {
  const auto command = decode_delete_infrastructure_request(valid_delete());
  EXPECT_EQ(command.infrastructure_id, "i-1");
  EXPECT_EQ(command.deployment_location.name, "dl");
  const auto decode = decode_delete_infrastructure_request;
  EXPECT_EQ(error_of(valid_delete(), decode, [](auto& b) { b.erase("infrastructureId"); }),
            "infrastructureId: required");
  EXPECT_EQ(error_of(valid_delete(), decode, [](auto& b) { b["infrastructureId"] = ""; }),
            "infrastructureId: must not be empty");
  EXPECT_EQ(error_of(valid_delete(), decode, [](auto& b) { b.erase("deploymentLocation"); }),
            "deploymentLocation: required");
}

TEST(QueryInfrastructureRequest, RequiresAllThreeFields) {
  const auto command = decode_query_infrastructure_request(valid_query());
  EXPECT_EQ(command.infrastructure_id, "i-1");
  EXPECT_EQ(command.request_id, "q-1");
  EXPECT_EQ(command.deployment_location.name, "dl");
  const auto decode = decode_query_infrastructure_request;
  EXPECT_EQ(error_of(valid_query(), decode, [](auto& b) { b.erase("infrastructureId"); }),
            "infrastructureId: required");
  EXPECT_EQ(error_of(valid_query(), decode, [](auto& b) { b["requestId"] = ""; }),
            "requestId: must not be empty");
  EXPECT_EQ(error_of(valid_query(), decode, [](auto& b) { b["requestId"] = 7; }),
            "requestId: expected a string");
  EXPECT_EQ(error_of(valid_query(), decode, [](auto& b) { b["deploymentLocation"] = "dl"; })
                .substr(0, 20),
            "deploymentLocation: ");
}

TEST(FindInfrastructureRequest, RequiresAllFourFields) {
  const auto command = decode_find_infrastructure_request(valid_find());
  EXPECT_EQ(command.template_text, "t");
  EXPECT_EQ(command.template_type, "HEAT");
  EXPECT_EQ(command.instance_name, "web");
  EXPECT_EQ(command.deployment_location.name, "dl");
  const auto decode = decode_find_infrastructure_request;
  for (const char* field : {"template", "templateType", "instanceName", "deploymentLocation"}) {
    EXPECT_EQ(error_of(valid_find(), decode, [&](auto& b) { b.erase(field); }),
              std::string(field) + ": required");
  }
  EXPECT_EQ(error_of(valid_find(), decode, [](auto& b) { b["instanceName"] = ""; }),
            "instanceName: must not be empty");
}

TEST(InfrastructureRequests, BodyMustBeAnObject) {
  const auto body = boost::json::parse("[1]");
  EXPECT_THROW(decode_create_infrastructure_request(body), sdk::InvalidRequestError);
  EXPECT_THROW(decode_delete_infrastructure_request(body), sdk::InvalidRequestError);
  EXPECT_THROW(decode_query_infrastructure_request(body), sdk::InvalidRequestError);
  EXPECT_THROW(decode_find_infrastructure_request(body), sdk::InvalidRequestError);
}

TEST(InfrastructureErrors, InvalidTemplateAndNotFoundAre400) {
  EXPECT_EQ(status_of(sdk::ErrorKind::invalid_template), http::Status::bad_request);
  EXPECT_EQ(status_of(sdk::ErrorKind::infrastructure_not_found), http::Status::bad_request);
  EXPECT_EQ(status_of(sdk::ErrorKind::temporary), http::Status::service_unavailable);
  EXPECT_EQ(status_of(sdk::ErrorKind::driver), http::Status::internal_server_error);
}

}  // namespace
}  // namespace flint::api
