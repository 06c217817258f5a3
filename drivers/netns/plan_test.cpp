#include "netns/plan.hpp"

#include <set>
#include <stdexcept>

#include <gtest/gtest.h>

#include "netns/test_support.hpp"

namespace flint::drivers::netns {
namespace {

namespace bj = boost::json;

TemplateModel example() {
  return parse_tosca_template(testing::two_hosts_template(), {});
}

TEST(Prefix, Validation) {
  EXPECT_NO_THROW(validate_prefix("fl"));
  EXPECT_NO_THROW(validate_prefix("t0abc9"));
  EXPECT_THROW(validate_prefix(""), std::invalid_argument);
  EXPECT_THROW(validate_prefix("toolong"), std::invalid_argument);
  EXPECT_THROW(validate_prefix("9ab"), std::invalid_argument);
  EXPECT_THROW(validate_prefix("a-b"), std::invalid_argument);
  EXPECT_THROW(validate_prefix("Ab"), std::invalid_argument);
}

TEST(Plan, NamesAreShortPrefixedDeterministicAndDistinct) {
  const auto plan = make_plan(example(), "abcdef", "my instance");
  ASSERT_EQ(plan.namespaces.size(), 2u);
  ASSERT_EQ(plan.bridges.size(), 1u);
  ASSERT_EQ(plan.veths.size(), 2u);
  std::set<std::string> names;
  const auto check = [&](const std::string& name, char kind) {
    EXPECT_LE(name.size(), 15u) << name;
    EXPECT_EQ(name.rfind("abcdef", 0), 0u) << name;
    EXPECT_EQ(name[6], kind) << name;
    EXPECT_TRUE(names.insert(name).second) << name;
  };
  for (const auto& ns : plan.namespaces) check(ns.name, 'n');
  for (const auto& bridge : plan.bridges) check(bridge.name, 'b');
  for (const auto& veth : plan.veths) check(veth.host_name, 'v');
  // Everything of one infrastructure shares the instance hash after the kind.
  const auto infix = plan.namespaces[0].name.substr(7, 4);
  for (const auto& name : names) EXPECT_EQ(name.substr(7, 4), infix);

  EXPECT_EQ(make_plan(example(), "abcdef", "my instance"), plan);
  const auto other = make_plan(example(), "abcdef", "another");
  EXPECT_NE(other.namespaces[0].name, plan.namespaces[0].name);
  EXPECT_NE(other.bridges[0].name, plan.bridges[0].name);
}

TEST(Plan, VethsAndAttributes) {
  const auto plan = make_plan(example(), "fl", "x");
  const auto& a = plan.veths[0];
  EXPECT_EQ(a.node, "port_a");
  EXPECT_EQ(a.peer_name, "eth0");
  EXPECT_EQ(a.namespace_name, plan.namespaces[0].name);
  EXPECT_EQ(a.bridge_name, plan.bridges[0].name);
  EXPECT_EQ(a.address, "10.10.0.11/24");
  EXPECT_EQ(plan.veths[1].address, "10.10.0.12/24");
  EXPECT_EQ(plan.veths[1].namespace_name, plan.namespaces[1].name);

  const auto& host_a = plan.attributes.at("host_a").as_object();
  EXPECT_EQ(host_a.at("type"), "tosca.nodes.Compute");
  EXPECT_EQ(host_a.at("name"), bj::value(plan.namespaces[0].name));
  EXPECT_EQ(host_a.at("ip_address"), "10.10.0.11");
  const auto& lan = plan.attributes.at("lan").as_object();
  EXPECT_EQ(lan.at("name"), bj::value(plan.bridges[0].name));
  EXPECT_EQ(lan.at("cidr"), "10.10.0.0/24");
  EXPECT_EQ(lan.at("network_name"), "lan");
  EXPECT_EQ(plan.attributes.at("port_b").as_object().at("name"), "eth0");
}

TEST(Plan, SecondPortOfAComputeIsEth1) {
  const std::string text =
      "tosca_definitions_version: tosca_simple_yaml_1_3\n"
      "topology_template:\n"
      "  node_templates:\n"
      "    a: {type: tosca.nodes.network.Network, properties: {cidr: 10.1.0.0/24}}\n"
      "    b: {type: tosca.nodes.network.Network, properties: {cidr: 10.2.0.0/24}}\n"
      "    r: {type: tosca.nodes.Compute}\n"
      "    pa: {type: tosca.nodes.network.Port, properties: {ip_address: 10.1.0.1},\n"
      "         requirements: [{binding: r}, {link: a}]}\n"
      "    pb: {type: tosca.nodes.network.Port, properties: {ip_address: 10.2.0.1},\n"
      "         requirements: [{binding: r}, {link: b}]}\n";
  const auto plan = make_plan(parse_tosca_template(text, {}), "fl", "router");
  EXPECT_EQ(plan.veths[0].peer_name, "eth0");
  EXPECT_EQ(plan.veths[1].peer_name, "eth1");
  EXPECT_EQ(plan.attributes.at("r").as_object().at("ip_address"), "10.1.0.1");
}

TEST(Plan, OutputsAndMatching) {
  const auto model = example();
  const auto plan = make_plan(model, "fl", "x");
  const auto outputs = evaluate_outputs(model, plan.attributes);
  EXPECT_EQ(outputs.at("address_a"), "10.10.0.11");
  EXPECT_EQ(outputs.at("address_b"), "10.10.0.12");
  EXPECT_EQ(outputs.at("namespace_a"), bj::value(plan.namespaces[0].name));
  EXPECT_EQ(outputs.at("bridge"), bj::value(plan.bridges[0].name));
  EXPECT_TRUE(nodes_match(model, plan.attributes));
  auto missing = plan.attributes;
  missing.erase("port_b");
  EXPECT_FALSE(nodes_match(model, missing));
}

TEST(Plan, JsonRoundTrip) {
  const auto plan = make_plan(example(), "fl", "x");
  EXPECT_EQ(plan_from_json(to_json(plan)), plan);
  EXPECT_THROW(plan_from_json(bj::value(3)), std::runtime_error);
}

}  // namespace
}  // namespace flint::drivers::netns
