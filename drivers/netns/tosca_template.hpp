#pragma once

/// @file
/// The TOSCA Simple Profile subset understood by the `netns` driver: parsing
/// and full validation of a template into a `TemplateModel`.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include <flint/sdk/property_map.hpp>

namespace flint::drivers::netns {

/// TOSCA type of a Compute node (becomes a network namespace).
inline constexpr std::string_view kComputeType = "tosca.nodes.Compute";
/// TOSCA type of a Network node (becomes a Linux bridge).
inline constexpr std::string_view kNetworkType = "tosca.nodes.network.Network";
/// TOSCA type of a Port node (becomes a veth pair).
inline constexpr std::string_view kPortType = "tosca.nodes.network.Port";

/// An IPv4 network in CIDR form; the address has its host bits cleared.
struct Ipv4Network {
  /// Network address, host byte order.
  std::uint32_t address = 0;
  /// Prefix length, 1 to 30.
  int prefix_length = 0;

  /// The netmask, host byte order.
  std::uint32_t mask() const noexcept;
  /// The broadcast address, host byte order.
  std::uint32_t broadcast() const noexcept;
  /// True when `host` (host byte order) lies in this network.
  bool contains(std::uint32_t host) const noexcept;
  /// True when the two networks share an address.
  bool overlaps(const Ipv4Network& other) const noexcept;
  /// `a.b.c.d/n`.
  std::string to_string() const;

  /// Field-by-field equality.
  bool operator==(const Ipv4Network&) const = default;
};

/// Parses a dotted quad (`10.0.0.1`) into host byte order; nullopt otherwise.
std::optional<std::uint32_t> parse_ipv4(std::string_view text);
/// Formats a host-byte-order address as a dotted quad.
std::string format_ipv4(std::uint32_t address);

/// A `tosca.nodes.Compute` node.
struct ComputeNode {
  /// Node template name.
  std::string name;
};

/// A `tosca.nodes.network.Network` node.
struct NetworkNode {
  /// Node template name.
  std::string name;
  /// The `network_name` property, or the node name when absent.
  std::string network_name;
  /// The `cidr` property; nullopt only for an unresolved input in lenient mode.
  std::optional<Ipv4Network> cidr;
};

/// A `tosca.nodes.network.Port` node.
struct PortNode {
  /// Node template name.
  std::string name;
  /// The Compute node of its `binding` requirement.
  std::string compute;
  /// The Network node of its `link` requirement.
  std::string network;
  /// The `ip_address` property (host byte order); nullopt only for an
  /// unresolved input in lenient mode.
  std::optional<std::uint32_t> ip_address;
};

/// One entry of `topology_template.outputs`.
struct OutputDefinition {
  /// Output name.
  std::string name;
  /// Node of a `get_attribute`, empty for a plain value or `get_input`.
  std::string node;
  /// Input of a `get_input`, empty otherwise.
  std::string input;
  /// Attribute of a `get_attribute` (`ip_address`, `name`...).
  std::string attribute;
  /// The value when `node` is empty (null for an unresolved input).
  boost::json::value value;
};

/// A validated template.
struct TemplateModel {
  /// `tosca_definitions_version`.
  std::string version;
  /// Compute nodes, in document order.
  std::vector<ComputeNode> computes;
  /// Network nodes, in document order.
  std::vector<NetworkNode> networks;
  /// Port nodes, in document order.
  std::vector<PortNode> ports;
  /// Outputs, in document order.
  std::vector<OutputDefinition> outputs;

  /// The TOSCA type of node `name`, or nullopt when there is no such node.
  std::optional<std::string_view> type_of(std::string_view name) const;
};

/// How `get_input` values that have neither a request value nor a default are
/// treated.
enum class InputResolution {
  /// An error naming the input (create).
  strict,
  /// Left unresolved, and checks needing the value skipped (find, which gets
  /// no properties).
  lenient,
};

/// Throws `sdk::InvalidTemplateError` naming `templateType` unless `type` is
/// `TOSCA` (case-insensitive).
void check_template_type(std::string_view type);

/// Parses and validates a template.
///
/// `properties` fill `get_input` values (string or integer values).
/// @throws sdk::InvalidTemplateError whose message starts with the path of
///         the offending element, e.g.
///         `topology_template.node_templates.web: unsupported type 'x'`.
TemplateModel parse_tosca_template(std::string_view text, const sdk::PropertyMap& properties,
                                   InputResolution mode = InputResolution::strict);

/// The attributes `get_attribute` may read from a node of `type`.
std::vector<std::string_view> supported_attributes(std::string_view type);

}  // namespace flint::drivers::netns
