#pragma once

/// @file
/// What the `netns` driver builds for a template: the system names of the
/// namespaces, bridges and veth pairs, and the attributes of every node.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "netns/tosca_template.hpp"

namespace flint::drivers::netns {

/// A network namespace (one per Compute node).
struct NamespacePlan {
  /// The Compute node.
  std::string node;
  /// Namespace name (`ip netns`).
  std::string name;

  /// Field-by-field equality.
  bool operator==(const NamespacePlan&) const = default;
};

/// A Linux bridge (one per Network node), without an address.
struct BridgePlan {
  /// The Network node.
  std::string node;
  /// Interface name in the host namespace.
  std::string name;

  /// Field-by-field equality.
  bool operator==(const BridgePlan&) const = default;
};

/// A veth pair (one per Port node).
struct VethPlan {
  /// The Port node.
  std::string node;
  /// Host-side end, attached to the bridge.
  std::string host_name;
  /// Namespace-side end (`eth0`, `eth1`... in the order of the compute's ports).
  std::string peer_name;
  /// The namespace holding the peer.
  std::string namespace_name;
  /// The bridge holding the host end.
  std::string bridge_name;
  /// Address of the peer with the network's prefix length, `a.b.c.d/n`.
  std::string address;

  /// Field-by-field equality.
  bool operator==(const VethPlan&) const = default;
};

/// Everything one infrastructure consists of.
struct Plan {
  /// Namespaces, in template order.
  std::vector<NamespacePlan> namespaces;
  /// Bridges, in template order.
  std::vector<BridgePlan> bridges;
  /// Veth pairs, in template order.
  std::vector<VethPlan> veths;
  /// Node name -> `{"type": <TOSCA type>, <attribute>: <value>...}`.
  boost::json::object attributes;

  /// Field-by-field equality.
  bool operator==(const Plan&) const = default;
};

/// Longest accepted name prefix: prefix + kind letter + 8 hex digits must fit
/// the 15 characters of a Linux interface name.
inline constexpr std::size_t kMaxPrefixLength = 6;

/// Throws `std::invalid_argument` unless `prefix` is 1 to 6 characters of
/// `[a-z0-9]`, starting with a letter.
void validate_prefix(std::string_view prefix);

/// 64-bit FNV-1a of `text` (stable across builds and platforms).
std::uint64_t fnv1a(std::string_view text) noexcept;

/// The plan of `model` for instance `instance_name`.
///
/// Names are `<prefix><kind><iiii><nnnn>`: kind `n` (namespace), `b` (bridge)
/// or `v` (host veth end); `iiii` = 4 hex digits of a hash of the instance
/// name (shared by everything of one infrastructure), `nnnn` = 4 hex digits of
/// a hash of instance and node (re-salted on the rare collision inside one
/// plan). Deterministic: the same inputs give the same names. Unresolved
/// values (lenient parse) are not allowed here.
Plan make_plan(const TemplateModel& model, std::string_view prefix, std::string_view instance_name);

/// The output values of `model` read from node `attributes` (as in
/// `Plan::attributes`); a missing attribute gives null. An output of an
/// input takes the input's value in `recorded_inputs` when it holds one (the
/// value an infrastructure was built with), the model's otherwise.
boost::json::object evaluate_outputs(const TemplateModel& model,
                                     const boost::json::object& attributes,
                                     const boost::json::object& recorded_inputs = {});

/// The values `model`'s outputs take from its inputs, by input name (for
/// `evaluate_outputs`' `recorded_inputs`).
boost::json::object output_inputs(const TemplateModel& model);

/// True when every node of `model` exists in `attributes` with the same type.
bool nodes_match(const TemplateModel& model, const boost::json::object& attributes);

/// JSON form of a plan (for the state files).
boost::json::value to_json(const Plan& plan);
/// Reads `to_json`'s output; throws `std::runtime_error` when malformed.
Plan plan_from_json(const boost::json::value& json);

}  // namespace flint::drivers::netns
