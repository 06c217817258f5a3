#include "resource_state.hpp"

#include <filesystem>
#include <fstream>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <flint/sdk/json.hpp>

namespace flint::cli {
namespace {

using ::testing::HasSubstr;

std::string wire(const sdk::PropertyMap& map) {
  return boost::json::serialize(sdk::json::encode(map));
}

std::string error_of(std::string_view yaml) {
  try {
    parse_resource_state(yaml, "state.yaml");
  } catch (const ResourceStateError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ResourceStateTest, AnEmptyDocumentIsAnEmptyState) {
  const auto state = parse_resource_state("", "state.yaml");
  EXPECT_TRUE(state.system_properties.empty());
  EXPECT_TRUE(state.resource_properties.empty());
  EXPECT_TRUE(state.associated_topology.empty());
  EXPECT_FALSE(state.deployment_location);
}

TEST(ResourceStateTest, InfersTheTypeOfPlainValues) {
  const auto state = parse_resource_state(R"(
resourceProperties:
  flavor: m1.small
  replicas: 3
  big: 18446744073709551615
  ratio: 0.5
  exp: 1e3
  enabled: true
  off: False
  quoted: "42"
  forced: !!str 17
  hex: 0x1F
  nothing: ~
  version: 1.2.3
  tags: [a, 2, {k: v}]
  labels:
    team: core
    size: 10
)",
                                          "state.yaml");
  EXPECT_EQ(wire(state.resource_properties),
            R"({"flavor":{"type":"string","value":"m1.small"},)"
            R"("replicas":{"type":"integer","value":3},)"
            R"("big":{"type":"integer","value":18446744073709551615},)"
            R"("ratio":{"type":"float","value":5E-1},)"
            R"("exp":{"type":"float","value":1E3},)"
            R"("enabled":{"type":"boolean","value":true},)"
            R"("off":{"type":"boolean","value":false},)"
            R"("quoted":{"type":"string","value":"42"},)"
            R"("forced":{"type":"string","value":"17"},)"
            R"("hex":{"type":"integer","value":31},)"
            R"("nothing":{"type":"string","value":null},)"
            R"("version":{"type":"string","value":"1.2.3"},)"
            R"("tags":{"type":"list","value":["a",2,{"k":"v"}]},)"
            R"("labels":{"type":"map","value":{"team":"core","size":10}}})");
}

TEST(ResourceStateTest, FullEntriesKeepTheirDeclaredType) {
  const auto state = parse_resource_state(R"(
systemProperties:
  resourceId: {type: string, value: 007}
  started: {type: timestamp, value: 2024-01-01T00:00:00Z}
  size: {type: float, value: 3}
  custom: {type: vendor::thing, value: {a: 1}}
  empty: {type: integer}
  ssh:
    type: key
    keyName: demo-key
    privateKey: "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----"
  notAnEntry: {type: x, colour: red}
)",
                                          "state.yaml");
  const auto& p = state.system_properties;
  EXPECT_EQ(p.find("resourceId")->value(), boost::json::value("007"));
  EXPECT_EQ(p.find("started")->type(), "timestamp");
  EXPECT_EQ(p.find("started")->value(), boost::json::value("2024-01-01T00:00:00Z"));
  EXPECT_EQ(p.find("size")->value(), boost::json::value(3.0));
  EXPECT_EQ(p.find("custom")->type(), "vendor::thing");
  EXPECT_EQ(p.find("custom")->value(), boost::json::parse(R"({"a":1})"));
  EXPECT_EQ(p.find("empty")->type(), "integer");
  EXPECT_TRUE(p.find("empty")->value().is_null());
  ASSERT_TRUE(p.find("ssh")->is_key());
  EXPECT_EQ(p.find("ssh")->key_material()->key_name, "demo-key");
  EXPECT_THAT(p.find("ssh")->key_material()->private_key, HasSubstr("BEGIN PRIVATE KEY"));
  // A map with keys other than an entry's is a plain map value.
  EXPECT_EQ(p.find("notAnEntry")->type(), "map");
}

TEST(ResourceStateTest, ReadsTopologyAndLocation) {
  const auto state = parse_resource_state(R"(
associatedTopology:
  vm: {id: 12345, type: Openstack}
deploymentLocation:
  name: lab
  type: Openstack
  properties: {authUrl: "http://keystone:5000", retries: 3}
requestProperties:
)",
                                          "state.yaml");
  const auto* vm = state.associated_topology.find("vm");
  ASSERT_NE(vm, nullptr);
  ASSERT_TRUE(vm->has_value());
  EXPECT_EQ((*vm)->id, "12345");
  EXPECT_EQ((*vm)->type, "Openstack");
  ASSERT_TRUE(state.deployment_location);
  EXPECT_EQ(state.deployment_location->name, "lab");
  EXPECT_EQ(state.deployment_location->type, "Openstack");
  EXPECT_EQ(state.deployment_location->properties.at("retries"), boost::json::value(3));
  EXPECT_TRUE(state.request_properties.empty());
}

TEST(ResourceStateTest, ErrorsNameTheFileTheFieldAndTheProblem) {
  EXPECT_EQ(error_of("resourceProperties:\n  replicas: {type: integer, value: three}\n"),
            "state.yaml: resourceProperties.replicas.value: expected an integer, got \"three\"");
  EXPECT_EQ(error_of("resourceProperties:\n  on: {type: boolean, value: 1}\n"),
            "state.yaml: resourceProperties.on.value: expected true or false, got \"1\"");
  EXPECT_EQ(error_of("resourceProperty: {}\n"),
            "state.yaml: resourceProperty: unknown key (expected systemProperties, "
            "resourceProperties, requestProperties, associatedTopology, deploymentLocation)");
  EXPECT_EQ(error_of("- a\n- b\n"),
            "state.yaml: (document): expected a map at the top level, got a list");
  EXPECT_EQ(error_of("systemProperties: [a]\n"),
            "state.yaml: systemProperties: expected a map of name to value, got a list");
  EXPECT_EQ(error_of("associatedTopology:\n  vm: {id: x}\n"),
            "state.yaml: associatedTopology.vm.type: required")
      << "the SDK decoder's message, prefixed";
  EXPECT_EQ(error_of("associatedTopology:\n  vm: {id: x, type: y, zone: z}\n"),
            "state.yaml: associatedTopology.vm.zone: unknown field (expected id, type)");
  EXPECT_EQ(error_of("deploymentLocation: {type: x}\n").substr(0, 31),
            "state.yaml: deploymentLocation.");
  EXPECT_EQ(error_of("deploymentLocation: {name: x, region: y}\n"),
            "state.yaml: deploymentLocation.region: unknown field (expected name, type, "
            "properties)");
  EXPECT_EQ(error_of("resourceProperties:\n  r: .inf\n"),
            "state.yaml: resourceProperties.r: .inf cannot be represented in JSON");
  EXPECT_EQ(error_of("resourceProperties:\n  r: 99999999999999999999\n"),
            "state.yaml: resourceProperties.r: integer 99999999999999999999 does not fit in 64 "
            "bits");
  EXPECT_EQ(error_of("resourceProperties:\n  a: 1\n  a: 2\n"),
            "state.yaml: resourceProperties.a: listed twice");
  EXPECT_THAT(error_of("resourceProperties:\n  k: {type: key, keyName: n}\n"),
              HasSubstr("state.yaml: resourceProperties.k"));
  EXPECT_THAT(error_of("resourceProperties: {a: [1, 2\n"), HasSubstr("state.yaml: line "));
  EXPECT_EQ(error_of("resourceProperties:\n  a: {type: string, value: [1]}\n"),
            "state.yaml: resourceProperties.a.value: expected a string, got a list");
  // What would be ignored or sent as malformed JSON.
  EXPECT_EQ(error_of("resourceProperties:\n  a: 1\n---\nbogus: 2\n"),
            "state.yaml: line 4: a second YAML document; a resource state is one");
  EXPECT_EQ(error_of("resourceProperties:\n  a: 1\n---\n"),  // an empty one, at the end
            "state.yaml: line 3: a second YAML document; a resource state is one");
  EXPECT_EQ(error_of("resourceProperties:\n  a: \"x\xff\"\n"),
            "state.yaml: line 2, column 8: not valid UTF-8");
  EXPECT_EQ(error_of("resourceProperties:\n  a: caf\xc3\xa9\n"), "no error");
}

TEST(ResourceStateTest, LoadsAFileAndNamesAMissingOne) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("flint-cli-state-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  { std::ofstream(dir / "state.yaml") << "resourceProperties:\n  flavor: small\n"; }
  EXPECT_EQ(load_resource_state(dir / "state.yaml").resource_properties.string_or("flavor", ""),
            "small");
  try {
    load_resource_state(dir / "missing.yaml");
    FAIL() << "no error";
  } catch (const ResourceStateError& e) {
    EXPECT_THAT(e.what(), HasSubstr("missing.yaml: cannot read the resource state: No such file"));
  }
  try {
    load_resource_state(dir);  // read as a stream, an empty state
    FAIL() << "no error";
  } catch (const ResourceStateError& e) {
    EXPECT_THAT(e.what(), HasSubstr(": cannot read the resource state: Is a directory"));
  }
  std::filesystem::remove_all(dir);
}

TEST(YamlToJsonTest, QuotedScalarsAreStrings) {
  EXPECT_EQ(yaml_to_json(YAML::Load("['true', \"3\", true, 3, null, 'null']"), "x"),
            boost::json::parse(R"(["true","3",true,3,null,"null"])"));
}

}  // namespace
}  // namespace flint::cli
