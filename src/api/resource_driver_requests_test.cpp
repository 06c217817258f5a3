#include "api/resource_driver_requests.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <flint/sdk/errors.hpp>

namespace flint::api {
namespace {

boost::json::value valid_execute() {
  return boost::json::parse(R"({
    "lifecycleName": "Create",
    "driverFiles": "UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==",
    "systemProperties": {"resourceId": {"type": "string", "value": "r1"}},
    "resourceProperties": {"size": {"type": "integer", "value": 2}},
    "associatedTopology": {"vm": {"id": "i-1", "type": "Openstack"}},
    "deploymentLocation": {"name": "dl", "type": "noop", "properties": {}}
  })");
}

std::string execute_error(const std::function<void(boost::json::object&)>& mutate) {
  auto body = valid_execute();
  mutate(body.as_object());
  try {
    decode_execute_request(body);
  } catch (const sdk::InvalidRequestError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ExecuteRequest, DecodesEveryField) {
  const auto command = decode_execute_request(valid_execute());
  EXPECT_EQ(command.lifecycle_name, "Create");
  EXPECT_EQ(command.system_properties.string_or("resourceId", ""), "r1");
  EXPECT_EQ(command.resource_properties.at("size").as_integer(), 2);
  EXPECT_TRUE(command.request_properties.empty());
  ASSERT_NE(command.associated_topology.find("vm"), nullptr);
  EXPECT_EQ(command.deployment_location.name, "dl");
}

TEST(ExecuteRequest, NamesTheFieldThatIsWrong) {
  EXPECT_EQ(execute_error([](auto& b) { b.erase("lifecycleName"); }), "lifecycleName: required");
  EXPECT_EQ(execute_error([](auto& b) { b["lifecycleName"] = 5; }),
            "lifecycleName: expected a string");
  EXPECT_EQ(execute_error([](auto& b) { b["driverFiles"] = ""; }),
            "driverFiles: must not be empty");
  EXPECT_EQ(execute_error([](auto& b) { b.erase("systemProperties"); }),
            "systemProperties: required");
  EXPECT_EQ(execute_error([](auto& b) { b["systemProperties"].as_object()["resourceId"] = "r1"; }),
            "systemProperties.resourceId: expected an object with \"type\"");
  EXPECT_EQ(execute_error([](auto& b) { b.erase("deploymentLocation"); }),
            "deploymentLocation: required");
  EXPECT_EQ(execute_error([](auto& b) { b["lifecycleName"] = std::string(1025, 'C'); }),
            "lifecycleName: is longer than 1024 bytes");
  EXPECT_EQ(execute_error([](auto& b) { b["lifecycleName"] = std::string(1024, 'C'); }),
            "no error");
  // A NUL would cut every message quoting the name (what() is a C string).
  EXPECT_EQ(execute_error([](auto& b) { b["lifecycleName"] = std::string("Cre\0ate", 7); }),
            "lifecycleName: has a control character");
}

TEST(ExecuteRequest, OptionalMapsMayBeNull) {
  auto body = valid_execute();
  body.as_object()["requestProperties"] = nullptr;
  body.as_object()["associatedTopology"] = nullptr;
  EXPECT_NO_THROW(decode_execute_request(body));
}

TEST(ExecuteRequest, BodyMustBeAnObject) {
  EXPECT_THROW(decode_execute_request(boost::json::parse("[1]")), sdk::InvalidRequestError);
}

TEST(FindRequest, RequiresAllThreeFields) {
  auto body = boost::json::parse(
      R"({"instanceName": "a", "driverFiles": "eA==", "deploymentLocation": {"name": "dl"}})");
  EXPECT_EQ(decode_find_request(body).instance_name, "a");
  body.as_object().erase("instanceName");
  try {
    decode_find_request(body);
    FAIL();
  } catch (const sdk::InvalidRequestError& e) {
    EXPECT_STREQ(e.what(), "instanceName: required");
  }
}

}  // namespace
}  // namespace flint::api
