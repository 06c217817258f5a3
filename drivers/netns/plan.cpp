#include "netns/plan.hpp"

#include <cstdio>
#include <set>
#include <stdexcept>

#include <boost/json/array.hpp>
#include <boost/json/string.hpp>

namespace flint::drivers::netns {
namespace {

namespace bj = boost::json;

std::string hex4(std::uint64_t hash) {
  const auto folded =
      static_cast<unsigned>((hash ^ (hash >> 16) ^ (hash >> 32) ^ (hash >> 48)) & 0xffffu);
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "%04x", folded);
  return buffer;
}

std::string text(const bj::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  if (!value || !value->is_string()) {
    throw std::runtime_error("plan: missing string '" + std::string(key) + "'");
  }
  return std::string(value->get_string());
}

const bj::array& array(const bj::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  if (!value || !value->is_array()) {
    throw std::runtime_error("plan: missing list '" + std::string(key) + "'");
  }
  return value->get_array();
}

const bj::object& as_object(const bj::value& value) {
  if (!value.is_object()) throw std::runtime_error("plan: expected an object");
  return value.get_object();
}

}  // namespace

void validate_prefix(std::string_view prefix) {
  const auto bad = [&](std::string_view why) {
    throw std::invalid_argument("netns driver: prefix '" + std::string(prefix) + "' " +
                                std::string(why));
  };
  if (prefix.empty() || prefix.size() > kMaxPrefixLength) bad("must be 1 to 6 characters");
  if (prefix.front() < 'a' || prefix.front() > 'z') bad("must start with a lower-case letter");
  for (const char c : prefix) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) bad("may only hold [a-z0-9]");
  }
}

std::uint64_t fnv1a(std::string_view data) noexcept {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : data) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

Plan make_plan(const TemplateModel& model, std::string_view prefix,
               std::string_view instance_name) {
  validate_prefix(prefix);
  const std::string instance(instance_name);
  const auto infix = hex4(fnv1a("instance\n" + instance));
  std::set<std::string> used;
  const auto name_of = [&](char kind, const std::string& node) {
    for (unsigned salt = 0;; ++salt) {
      std::string key = instance;
      key += '\n';
      key += node;
      if (salt != 0) key += "\n" + std::to_string(salt);
      std::string name(prefix);
      name += kind;
      name += infix;
      name += hex4(fnv1a(key));
      if (used.insert(name).second) return name;
    }
  };

  Plan plan;
  for (const auto& compute : model.computes) {
    plan.namespaces.push_back({compute.name, name_of('n', compute.name)});
    plan.attributes[compute.name] = bj::object{{"type", bj::string(kComputeType)},
                                               {"name", bj::string(plan.namespaces.back().name)}};
  }
  for (const auto& network : model.networks) {
    plan.bridges.push_back({network.name, name_of('b', network.name)});
    bj::object attributes{{"type", bj::string(kNetworkType)},
                          {"name", bj::string(plan.bridges.back().name)},
                          {"network_name", bj::string(network.network_name)}};
    if (network.cidr) attributes["cidr"] = network.cidr->to_string();
    plan.attributes[network.name] = std::move(attributes);
  }
  const auto namespace_of = [&](const std::string& node) -> const NamespacePlan& {
    for (const auto& ns : plan.namespaces) {
      if (ns.node == node) return ns;
    }
    throw std::logic_error("plan: unknown compute " + node);
  };
  const auto bridge_of = [&](const std::string& node) -> const BridgePlan& {
    for (const auto& bridge : plan.bridges) {
      if (bridge.node == node) return bridge;
    }
    throw std::logic_error("plan: unknown network " + node);
  };
  const auto network_of = [&](const std::string& node) -> const NetworkNode& {
    for (const auto& network : model.networks) {
      if (network.name == node) return network;
    }
    throw std::logic_error("plan: unknown network " + node);
  };
  for (const auto& port : model.ports) {
    const auto& network = network_of(port.network);
    if (!port.ip_address || !network.cidr) {
      throw std::logic_error("plan: port " + port.name + " has no resolved address");
    }
    std::size_t index = 0;
    for (const auto& ns_port : plan.veths) {
      if (ns_port.namespace_name == namespace_of(port.compute).name) ++index;
    }
    const auto address = format_ipv4(*port.ip_address);
    plan.veths.push_back({port.name, name_of('v', port.name), "eth" + std::to_string(index),
                          namespace_of(port.compute).name, bridge_of(port.network).name,
                          address + "/" + std::to_string(network.cidr->prefix_length)});
    plan.attributes[port.name] = bj::object{{"type", bj::string(kPortType)},
                                            {"name", bj::string(plan.veths.back().peer_name)},
                                            {"ip_address", bj::string(address)}};
    auto& compute = plan.attributes[port.compute].as_object();
    if (!compute.contains("ip_address")) compute["ip_address"] = bj::string(address);
  }
  return plan;
}

bj::object evaluate_outputs(const TemplateModel& model, const bj::object& attributes,
                            const bj::object& recorded_inputs) {
  bj::object outputs;
  for (const auto& output : model.outputs) {
    if (output.node.empty()) {
      const auto* recorded =
          output.input.empty() ? nullptr : recorded_inputs.if_contains(output.input);
      outputs[output.name] = recorded ? *recorded : output.value;
      continue;
    }
    bj::value value;
    if (const auto* node = attributes.if_contains(output.node); node && node->is_object()) {
      if (const auto* found = node->get_object().if_contains(output.attribute)) value = *found;
    }
    outputs[output.name] = std::move(value);
  }
  return outputs;
}

bj::object output_inputs(const TemplateModel& model) {
  bj::object inputs;
  for (const auto& output : model.outputs) {
    if (!output.input.empty() && !output.value.is_null()) inputs[output.input] = output.value;
  }
  return inputs;
}

bool nodes_match(const TemplateModel& model, const bj::object& attributes) {
  const auto has = [&](const std::string& node, std::string_view type) {
    const auto* found = attributes.if_contains(node);
    if (!found || !found->is_object()) return false;
    const auto* recorded = found->get_object().if_contains("type");
    return recorded && recorded->is_string() && recorded->get_string() == type;
  };
  for (const auto& node : model.computes) {
    if (!has(node.name, kComputeType)) return false;
  }
  for (const auto& node : model.networks) {
    if (!has(node.name, kNetworkType)) return false;
  }
  for (const auto& node : model.ports) {
    if (!has(node.name, kPortType)) return false;
  }
  return true;
}

bj::value to_json(const Plan& plan) {
  bj::array namespaces;
  for (const auto& ns : plan.namespaces) {
    namespaces.push_back(bj::object{{"node", bj::string(ns.node)}, {"name", bj::string(ns.name)}});
  }
  bj::array bridges;
  for (const auto& bridge : plan.bridges) {
    bridges.push_back(
        bj::object{{"node", bj::string(bridge.node)}, {"name", bj::string(bridge.name)}});
  }
  bj::array veths;
  for (const auto& veth : plan.veths) {
    veths.push_back(bj::object{{"node", bj::string(veth.node)},
                               {"host", bj::string(veth.host_name)},
                               {"peer", bj::string(veth.peer_name)},
                               {"namespace", bj::string(veth.namespace_name)},
                               {"bridge", bj::string(veth.bridge_name)},
                               {"address", bj::string(veth.address)}});
  }
  return bj::object{{"namespaces", std::move(namespaces)},
                    {"bridges", std::move(bridges)},
                    {"veths", std::move(veths)},
                    {"attributes", plan.attributes}};
}

Plan plan_from_json(const bj::value& json) {
  const auto& object = as_object(json);
  Plan plan;
  for (const auto& item : array(object, "namespaces")) {
    const auto& ns = as_object(item);
    plan.namespaces.push_back({text(ns, "node"), text(ns, "name")});
  }
  for (const auto& item : array(object, "bridges")) {
    const auto& bridge = as_object(item);
    plan.bridges.push_back({text(bridge, "node"), text(bridge, "name")});
  }
  for (const auto& item : array(object, "veths")) {
    const auto& veth = as_object(item);
    plan.veths.push_back({text(veth, "node"), text(veth, "host"), text(veth, "peer"),
                          text(veth, "namespace"), text(veth, "bridge"), text(veth, "address")});
  }
  const auto* attributes = object.if_contains("attributes");
  if (!attributes || !attributes->is_object()) throw std::runtime_error("plan: missing attributes");
  plan.attributes = attributes->get_object();
  return plan;
}

}  // namespace flint::drivers::netns
