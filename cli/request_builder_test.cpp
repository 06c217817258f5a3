#include "request_builder.hpp"

#include <stdexcept>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

namespace flint::cli {
namespace {

TEST(ResolveLocationTest, DefaultsToLocal) {
  const auto location = resolve_location(std::nullopt, std::nullopt, std::nullopt);
  EXPECT_EQ(location.name, "local");
  EXPECT_EQ(location.type, "");
  EXPECT_TRUE(location.properties.empty());
}

TEST(ResolveLocationTest, FlagsOverrideTheStateButKeepItsProperties) {
  sdk::DeploymentLocation from_state{"lab", "Openstack", {{"region", "eu"}}};
  auto location = resolve_location(from_state, std::string("prod"), std::nullopt);
  EXPECT_EQ(location.name, "prod");
  EXPECT_EQ(location.type, "Openstack");
  EXPECT_EQ(location.properties.at("region"), "eu");
  location = resolve_location(from_state, std::nullopt, std::string("Kubernetes"));
  EXPECT_EQ(location.name, "lab");
  EXPECT_EQ(location.type, "Kubernetes");
  EXPECT_THROW(resolve_location(from_state, std::string(""), std::nullopt), std::invalid_argument);
}

TEST(BuildExecuteRequestTest, HasEveryContractField) {
  ResourceState state = parse_resource_state(R"(
systemProperties: {resourceId: r-1}
resourceProperties: {flavor: small}
associatedTopology: {vm: {id: i-1, type: Openstack}}
)",
                                             "state.yaml");
  const auto body = build_execute_request("Create", "UEsFBg==", state,
                                          sdk::DeploymentLocation{"lab", "Openstack", {}});
  EXPECT_EQ(boost::json::serialize(body),
            R"({"lifecycleName":"Create","driverFiles":"UEsFBg==",)"
            R"("systemProperties":{"resourceId":{"type":"string","value":"r-1"}},)"
            R"("resourceProperties":{"flavor":{"type":"string","value":"small"}},)"
            R"("requestProperties":{},)"
            R"("associatedTopology":{"vm":{"id":"i-1","type":"Openstack"}},)"
            R"("deploymentLocation":{"name":"lab","type":"Openstack","properties":{}}})");
}

TEST(BuildFindRequestTest, HasEveryContractField) {
  const auto body = build_find_request("web-1", "UEsFBg==", sdk::DeploymentLocation{"lab", "", {}});
  EXPECT_EQ(body.at("instanceName"), "web-1");
  EXPECT_EQ(body.at("driverFiles"), "UEsFBg==");
  EXPECT_EQ(body.at("deploymentLocation").at("name"), "lab");
  EXPECT_EQ(body.size(), 3u);
}

}  // namespace
}  // namespace flint::cli
