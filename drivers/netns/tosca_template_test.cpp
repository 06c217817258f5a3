#include "netns/tosca_template.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <flint/sdk/errors.hpp>

#include "netns/test_support.hpp"

namespace flint::drivers::netns {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr std::string_view kHeader = "tosca_definitions_version: tosca_simple_yaml_1_3\n";

// One network, two computes, one port each; `extra` is appended to node_templates.
std::string topology(std::string_view nodes, std::string_view tail = {}) {
  return std::string(kHeader) + "topology_template:\n  node_templates:\n" + std::string(nodes) +
         std::string(tail);
}

constexpr std::string_view kLan =
    "    lan:\n"
    "      type: tosca.nodes.network.Network\n"
    "      properties:\n"
    "        cidr: 10.10.0.0/24\n";
constexpr std::string_view kWeb =
    "    web:\n"
    "      type: tosca.nodes.Compute\n";

std::string port(std::string_view name, std::string_view address, std::string_view binding = "web",
                 std::string_view link = "lan") {
  return "    " + std::string(name) +
         ":\n      type: tosca.nodes.network.Port\n      properties:\n        ip_address: " +
         std::string(address) +
         "\n      requirements:\n        - binding: " + std::string(binding) +
         "\n        - link: " + std::string(link) + "\n";
}

std::string basic() {
  return topology(std::string(kLan) + std::string(kWeb) + port("p", "10.10.0.2"));
}

// The message of the InvalidTemplateError that parsing `text` raises.
std::string error_of(const std::string& text, const sdk::PropertyMap& properties = {}) {
  try {
    parse_tosca_template(text, properties);
  } catch (const sdk::InvalidTemplateError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no InvalidTemplateError for:\n" << text;
  return {};
}

TEST(Ipv4, ParsesFormatsAndContains) {
  EXPECT_EQ(parse_ipv4("10.1.2.3"), 0x0a010203u);
  EXPECT_FALSE(parse_ipv4("10.1.2"));
  EXPECT_FALSE(parse_ipv4("10.1.2.3 "));
  EXPECT_FALSE(parse_ipv4("::1"));
  EXPECT_EQ(format_ipv4(0x0a010203u), "10.1.2.3");
  const Ipv4Network net{0x0a0a0000u, 24};
  EXPECT_EQ(net.to_string(), "10.10.0.0/24");
  EXPECT_EQ(net.broadcast(), 0x0a0a00ffu);
  EXPECT_TRUE(net.contains(0x0a0a0001u));
  EXPECT_FALSE(net.contains(0x0a0a0100u));
  EXPECT_TRUE(net.overlaps({0x0a000000u, 8}));
  EXPECT_FALSE(net.overlaps({0x0a0b0000u, 24}));
}

TEST(TemplateType, AcceptsToscaInAnyCase) {
  EXPECT_NO_THROW(check_template_type("TOSCA"));
  EXPECT_NO_THROW(check_template_type("tosca"));
  try {
    check_template_type("HEAT");
    FAIL();
  } catch (const sdk::InvalidTemplateError& e) {
    EXPECT_THAT(e.what(), StartsWith("templateType: 'HEAT' is not supported"));
  }
}

TEST(ToscaTemplate, ParsesTheExample) {
  const auto model = parse_tosca_template(testing::two_hosts_template(), {});
  EXPECT_EQ(model.version, "tosca_simple_yaml_1_3");
  ASSERT_EQ(model.computes.size(), 2u);
  EXPECT_EQ(model.computes[0].name, "host_a");
  EXPECT_EQ(model.computes[1].name, "host_b");
  ASSERT_EQ(model.networks.size(), 1u);
  EXPECT_EQ(model.networks[0].network_name, "lan");
  EXPECT_EQ(model.networks[0].cidr, (Ipv4Network{0x0a0a0000u, 24}));
  ASSERT_EQ(model.ports.size(), 2u);
  EXPECT_EQ(model.ports[0].name, "port_a");
  EXPECT_EQ(model.ports[0].compute, "host_a");
  EXPECT_EQ(model.ports[0].network, "lan");
  EXPECT_EQ(model.ports[0].ip_address, parse_ipv4("10.10.0.11"));
  EXPECT_EQ(model.ports[1].ip_address, parse_ipv4("10.10.0.12"));
  ASSERT_EQ(model.outputs.size(), 5u);
  EXPECT_EQ(model.outputs[0].name, "address_a");
  EXPECT_EQ(model.outputs[0].node, "host_a");
  EXPECT_EQ(model.outputs[0].attribute, "ip_address");
  EXPECT_EQ(model.type_of("lan"), kNetworkType);
  EXPECT_EQ(model.type_of("port_b"), kPortType);
  EXPECT_FALSE(model.type_of("nope"));
}

TEST(ToscaTemplate, InputsComeFromPropertiesBeforeDefaults) {
  sdk::PropertyMap properties{{"address_a", sdk::Property::string("10.10.0.50")},
                              {"unrelated", sdk::Property::string("ignored")}};
  const auto model = parse_tosca_template(testing::two_hosts_template(), properties);
  EXPECT_EQ(model.ports[0].ip_address, parse_ipv4("10.10.0.50"));
  EXPECT_EQ(model.ports[1].ip_address, parse_ipv4("10.10.0.12"));  // default
}

TEST(ToscaTemplate, InputTypesAndOutputsOfInputs) {
  const auto text = std::string(kHeader) +
                    "topology_template:\n"
                    "  inputs:\n"
                    "    count: {type: integer, default: 3}\n"
                    "    label: {type: string}\n"
                    "  node_templates:\n" +
                    std::string(kWeb) +
                    "  outputs:\n"
                    "    count: {value: {get_input: count}}\n"
                    "    label: {value: {get_input: label}}\n"
                    "    fixed: {value: hello, description: a literal}\n";
  sdk::PropertyMap properties{{"label", sdk::Property::integer(42)}};
  const auto model = parse_tosca_template(text, properties);
  ASSERT_EQ(model.outputs.size(), 3u);
  EXPECT_EQ(model.outputs[0].input, "count");
  EXPECT_EQ(model.outputs[2].input, "");
  EXPECT_EQ(model.outputs[0].value, boost::json::value(3));
  EXPECT_EQ(model.outputs[1].value, boost::json::value("42"));
  EXPECT_EQ(model.outputs[2].value, boost::json::value("hello"));

  sdk::PropertyMap bad{{"count", sdk::Property::string("many")},
                       {"label", sdk::Property::string("x")}};
  EXPECT_THAT(error_of(text, bad),
              StartsWith("topology_template.inputs.count: the value in the request's properties "
                         "is not an integer"));
}

TEST(ToscaTemplate, MissingInputValueNamesTheInput) {
  const auto text = std::string(kHeader) +
                    "topology_template:\n"
                    "  inputs:\n"
                    "    address: {type: string}\n"
                    "  node_templates:\n" +
                    std::string(kLan) + std::string(kWeb) + port("p", "{get_input: address}");
  EXPECT_EQ(error_of(text),
            "topology_template.inputs.address: no value in the request's properties and no "
            "default");
  // Lenient (find): left unresolved.
  const auto model = parse_tosca_template(text, {}, InputResolution::lenient);
  EXPECT_FALSE(model.ports[0].ip_address);
  // Given: used.
  const auto given = parse_tosca_template(text, {{"address", sdk::Property::string("10.10.0.9")}});
  EXPECT_EQ(given.ports[0].ip_address, parse_ipv4("10.10.0.9"));
}

TEST(ToscaTemplate, KeyMaterialIsNotAnInputValue) {
  sdk::PropertyMap properties{
      {"address_a", sdk::Property::key(sdk::KeyMaterial{"k", "PRIVATE", std::nullopt})}};
  // Not the default in its place, as if nothing was sent.
  EXPECT_EQ(error_of(testing::two_hosts_template(), properties),
            "topology_template.inputs.address_a: the value in the request's properties is key "
            "material (type key), not a string");
}

TEST(ToscaTemplate, UndeclaredInput) {
  EXPECT_EQ(
      error_of(topology(std::string(kLan) + std::string(kWeb) + port("p", "{get_input: nope}"))),
      "topology_template.node_templates.p.properties.ip_address: get_input 'nope': no such "
      "input in topology_template.inputs");
}

TEST(ToscaTemplate, InputDefinitionErrors) {
  const auto with_inputs = [](std::string_view inputs) {
    return std::string(kHeader) + "topology_template:\n  inputs:\n" + std::string(inputs) +
           "  node_templates:\n" + std::string(kWeb);
  };
  EXPECT_EQ(error_of(with_inputs("    x: {default: 1}\n")),
            "topology_template.inputs.x: missing 'type'");
  EXPECT_THAT(error_of(with_inputs("    x: {type: float}\n")),
              StartsWith("topology_template.inputs.x.type: unsupported type 'float'"));
  EXPECT_EQ(error_of(with_inputs("    x: {type: integer, default: many}\n")),
            "topology_template.inputs.x.default: 'many' is not an integer");
  EXPECT_THAT(error_of(with_inputs("    x: {type: string, constraints: []}\n")),
              StartsWith("topology_template.inputs.x.constraints: unknown key"));
}

TEST(ToscaTemplate, DocumentLevelErrors) {
  EXPECT_THAT(error_of("a: [1, 2\n"), StartsWith("template: invalid YAML: "));
  EXPECT_THAT(error_of("- 1\n"), StartsWith("template: expected a TOSCA document (a map)"));
  EXPECT_THAT(error_of(""), StartsWith("template: expected a TOSCA document"));
  EXPECT_EQ(error_of("topology_template: {node_templates: {web: {type: tosca.nodes.Compute}}}\n"),
            "tosca_definitions_version: required");
  EXPECT_THAT(error_of("tosca_definitions_version: heat_2015\n"),
              StartsWith("tosca_definitions_version: unsupported version 'heat_2015'"));
  EXPECT_EQ(error_of(std::string(kHeader)), "topology_template: required");
  EXPECT_THAT(error_of(basic() + "node_types: {}\n"),
              StartsWith("template.node_types: not supported by the netns driver"));
  EXPECT_THAT(error_of(std::string(kHeader) + "topology_template:\n  groups: {}\n"),
              StartsWith("topology_template.groups: not supported"));
  EXPECT_EQ(error_of(std::string(kHeader) + "topology_template:\n  inputs: {}\n"),
            "topology_template.node_templates: required");
  EXPECT_EQ(error_of(std::string(kHeader) + "topology_template:\n  node_templates: {}\n"),
            "topology_template.node_templates: no node templates");
}

TEST(ToscaTemplate, NodeErrorsNameTheNode) {
  EXPECT_EQ(error_of(topology("    web:\n      type: tosca.nodes.Database\n")),
            "topology_template.node_templates.web: unsupported type 'tosca.nodes.Database' "
            "(supported: tosca.nodes.Compute, tosca.nodes.network.Network, "
            "tosca.nodes.network.Port)");
  EXPECT_EQ(error_of(topology("    web:\n      properties: {}\n")),
            "topology_template.node_templates.web: missing 'type'");
  EXPECT_THAT(error_of(topology("    web: 3\n")),
              StartsWith("topology_template.node_templates.web: expected a map"));
  EXPECT_EQ(error_of(topology("    web:\n      type: tosca.nodes.Compute\n"
                              "      properties: {flavor: small}\n")),
            "topology_template.node_templates.web.properties.flavor: unknown property (this "
            "type has none)");
  EXPECT_THAT(error_of(topology("    web:\n      type: tosca.nodes.Compute\n"
                                "      interfaces: {}\n")),
              StartsWith("topology_template.node_templates.web.interfaces: not supported for a "
                         "tosca.nodes.Compute"));
  // Capabilities of a Compute (host sizes...) are accepted and ignored.
  EXPECT_NO_THROW(
      parse_tosca_template(topology("    web:\n      type: tosca.nodes.Compute\n"
                                    "      capabilities: {host: {properties: {num_cpus: 1}}}\n"),
                           {}));
}

TEST(ToscaTemplate, NetworkErrors) {
  const auto net = [](std::string_view properties) {
    return topology("    lan:\n      type: tosca.nodes.network.Network\n      properties:\n" +
                    std::string(properties));
  };
  EXPECT_EQ(error_of(net("        network_name: x\n")),
            "topology_template.node_templates.lan.properties: missing required property 'cidr'");
  EXPECT_EQ(error_of(net("        cidr: 10.10.0.0\n")),
            "topology_template.node_templates.lan.properties.cidr: '10.10.0.0' is not an IPv4 "
            "CIDR (a.b.c.d/n)");
  EXPECT_EQ(error_of(net("        cidr: 10.10.0.5/24\n")),
            "topology_template.node_templates.lan.properties.cidr: '10.10.0.5/24' has host bits "
            "set (did you mean 10.10.0.0/24?)");
  EXPECT_THAT(error_of(net("        cidr: fd00::/64\n")), HasSubstr("only IPv4 networks"));
  EXPECT_THAT(error_of(net("        cidr: 10.0.0.0/31\n")),
              HasSubstr("prefix length must be between 1 and 30"));
  EXPECT_THAT(error_of(net("        cidr: 10.0.0.0/24\n        ip_version: 6\n")),
              StartsWith("topology_template.node_templates.lan.properties.ip_version: only IPv4"));
  EXPECT_THAT(error_of(net("        cidr: 10.0.0.0/24\n        gateway_ip: 10.0.0.1\n")),
              StartsWith("topology_template.node_templates.lan.properties.gateway_ip: unknown "
                         "property (supported: network_name, cidr, ip_version)"));
  EXPECT_EQ(error_of(net("        cidr: [1]\n")),
            "topology_template.node_templates.lan.properties.cidr: expected a string or "
            "{get_input: <name>}, got a list");
}

TEST(ToscaTemplate, PortErrors) {
  const std::string base = std::string(kLan) + std::string(kWeb);
  EXPECT_EQ(error_of(topology(base + port("p", "10.10.0.300"))),
            "topology_template.node_templates.p.properties.ip_address: '10.10.0.300' is not an "
            "IPv4 address");
  EXPECT_EQ(error_of(topology(base + port("p", "10.20.0.1"))),
            "topology_template.node_templates.p.properties.ip_address: 10.20.0.1 is outside "
            "network 'lan' (10.10.0.0/24)");
  EXPECT_EQ(error_of(topology(base + port("p", "10.10.0.0"))),
            "topology_template.node_templates.p.properties.ip_address: 10.10.0.0 is the network "
            "address of 'lan' (10.10.0.0/24)");
  EXPECT_EQ(error_of(topology(base + port("p", "10.10.0.255"))),
            "topology_template.node_templates.p.properties.ip_address: 10.10.0.255 is the "
            "broadcast address of 'lan' (10.10.0.0/24)");
  EXPECT_EQ(error_of(topology(base + port("p", "10.10.0.2", "ghost"))),
            "topology_template.node_templates.p.requirements.binding: unknown node 'ghost'");
  EXPECT_EQ(error_of(topology(base + port("p", "10.10.0.2", "lan"))),
            "topology_template.node_templates.p.requirements.binding: node 'lan' is a "
            "tosca.nodes.network.Network, expected a tosca.nodes.Compute");
  EXPECT_EQ(error_of(topology(base + port("p", "10.10.0.2", "web", "web"))),
            "topology_template.node_templates.p.requirements.link: node 'web' is a "
            "tosca.nodes.Compute, expected a tosca.nodes.network.Network");
  EXPECT_EQ(error_of(topology(base + "    p:\n      type: tosca.nodes.network.Port\n"
                                     "      properties: {ip_address: 10.10.0.2}\n"
                                     "      requirements:\n        - binding: web\n")),
            "topology_template.node_templates.p.requirements: missing 'link' (the network this "
            "port is on)");
  EXPECT_EQ(error_of(topology(base + "    p:\n      type: tosca.nodes.network.Port\n"
                                     "      properties: {ip_address: 10.10.0.2}\n")),
            "topology_template.node_templates.p: missing 'requirements' (a binding to a compute "
            "and a link to a network)");
  EXPECT_EQ(error_of(topology(base + "    p:\n      type: tosca.nodes.network.Port\n"
                                     "      requirements: [{binding: web}, {link: lan}]\n")),
            "topology_template.node_templates.p.properties: missing required property "
            "'ip_address'");
  EXPECT_EQ(
      error_of(topology(base + "    p:\n      type: tosca.nodes.network.Port\n"
                               "      properties: {ip_address: 10.10.0.2}\n"
                               "      requirements: [{binding: web}, {link: lan}, {dependency: "
                               "web}]\n")),
      "topology_template.node_templates.p.requirements.dependency: unsupported requirement "
      "(supported: binding, link)");
  EXPECT_EQ(error_of(topology(base + "    p:\n      type: tosca.nodes.network.Port\n"
                                     "      properties: {ip_address: 10.10.0.2}\n"
                                     "      requirements: [{binding: web}, {binding: web}]\n")),
            "topology_template.node_templates.p.requirements.binding: given more than once");
  // The long form of a requirement.
  EXPECT_NO_THROW(parse_tosca_template(
      topology(base + "    p:\n      type: tosca.nodes.network.Port\n"
                      "      properties: {ip_address: 10.10.0.2}\n"
                      "      requirements: [{binding: {node: web}}, {link: {node: lan}}]\n"),
      {}));
}

TEST(ToscaTemplate, AddressConflicts) {
  const std::string base =
      std::string(kLan) + std::string(kWeb) + "    db:\n      type: tosca.nodes.Compute\n";
  EXPECT_EQ(error_of(topology(base + port("p1", "10.10.0.2") + port("p2", "10.10.0.2", "db"))),
            "topology_template.node_templates.p2.properties.ip_address: 10.10.0.2 is already used "
            "by port 'p1' on network 'lan'");
  EXPECT_EQ(error_of(topology(base + port("p1", "10.10.0.2") + port("p2", "10.10.0.3"))),
            "topology_template.node_templates.p2.requirements.link: compute 'web' already has "
            "port 'p1' on network 'lan'");
  const std::string overlapping =
      "    wan:\n      type: tosca.nodes.network.Network\n      properties: {cidr: 10.0.0.0/8}\n";
  EXPECT_EQ(error_of(topology(base + overlapping + port("p1", "10.10.0.2") +
                              port("p2", "10.20.0.3", "web", "wan"))),
            "topology_template.node_templates.p2.requirements.link: compute 'web' already has "
            "port 'p1' on network 'lan' whose CIDR overlaps 'wan'");
  // The same address on two separate networks is fine.
  const std::string other =
      "    lan2:\n      type: tosca.nodes.network.Network\n      properties: {cidr: "
      "10.10.0.0/24}\n";
  EXPECT_NO_THROW(parse_tosca_template(
      topology(base + other + port("p1", "10.10.0.2") + port("p2", "10.10.0.2", "db", "lan2")),
      {}));
}

TEST(ToscaTemplate, OutputErrors) {
  const auto with_output = [](std::string_view value) {
    return basic() + "  outputs:\n    out:\n      value: " + std::string(value) + "\n";
  };
  EXPECT_NO_THROW(parse_tosca_template(with_output("{get_attribute: [web, ip_address]}"), {}));
  EXPECT_EQ(error_of(with_output("{get_attribute: [ghost, ip_address]}")),
            "topology_template.outputs.out.value.get_attribute: unknown node 'ghost'");
  EXPECT_EQ(error_of(with_output("{get_attribute: [web, flavor]}")),
            "topology_template.outputs.out.value.get_attribute: node 'web' "
            "(tosca.nodes.Compute) has no attribute 'flavor' (supported: ip_address, name)");
  EXPECT_EQ(error_of(with_output("{get_attribute: [web]}")),
            "topology_template.outputs.out.value.get_attribute: expected [<node>, <attribute>]");
  EXPECT_THAT(error_of(with_output("{get_attribute: [SELF, name]}")),
              HasSubstr("keyword 'SELF' is not supported"));
  EXPECT_THAT(error_of(with_output("{concat: [a, b]}")),
              StartsWith("topology_template.outputs.out.value: expected a string, {get_input: "
                         "<name>} or {get_attribute: [<node>, <attribute>]}, got a map"));
  EXPECT_EQ(error_of(basic() + "  outputs:\n    out: {description: x}\n"),
            "topology_template.outputs.out: missing 'value'");
  EXPECT_EQ(error_of(topology(std::string(kWeb),
                              "  outputs:\n    out: {value: {get_attribute: [web, "
                              "ip_address]}}\n")),
            "topology_template.outputs.out.value.get_attribute: compute 'web' has no port, hence "
            "no ip_address");
}

}  // namespace
}  // namespace flint::drivers::netns
