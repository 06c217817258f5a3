#include "netns/tosca_template.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

#include <arpa/inet.h>
#include <boost/json/string.hpp>
#include <yaml-cpp/yaml.h>

#include <flint/sdk/errors.hpp>

namespace flint::drivers::netns {
namespace {

namespace bj = boost::json;

constexpr std::string_view kTopology = "topology_template";
constexpr std::string_view kNodes = "topology_template.node_templates";
constexpr std::string_view kInputs = "topology_template.inputs";
constexpr std::string_view kOutputs = "topology_template.outputs";

[[noreturn]] void fail(std::string_view where, std::string_view problem) {
  std::string message(where);
  message += ": ";
  message += problem;
  throw sdk::InvalidTemplateError(std::move(message));
}

std::string quoted(std::string_view text) {
  return "'" + std::string(text) + "'";
}

std::string join(const std::vector<std::string_view>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

std::string_view shape(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

void expect_map(const YAML::Node& node, std::string_view where) {
  if (!node.IsMap()) fail(where, "expected a map, got " + std::string(shape(node)));
}

std::string scalar(const YAML::Node& node, std::string_view where) {
  if (!node.IsScalar()) fail(where, "expected a string, got " + std::string(shape(node)));
  return node.Scalar();
}

std::string key_of(const YAML::Node& key, std::string_view where) {
  if (!key.IsScalar() || key.Scalar().empty()) fail(where, "keys must be non-empty strings");
  return key.Scalar();
}

std::string child(std::string_view where, std::string_view key) {
  std::string path(where);
  path += '.';
  path += key;
  return path;
}

// Rejects keys of `map` outside `allowed`, naming the first one found.
void allow_only(const YAML::Node& map, std::string_view where,
                const std::vector<std::string_view>& allowed, std::string_view what) {
  for (const auto& entry : map) {
    const auto key = key_of(entry.first, where);
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      fail(child(where, key), std::string(what) + " (supported: " + join(allowed) + ")");
    }
  }
}

std::optional<std::int64_t> parse_integer(std::string_view text) {
  std::int64_t value = 0;
  const auto* begin = text.data();
  if (!text.empty() && text.front() == '+') ++begin;
  const auto [end, error] = std::from_chars(begin, text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || begin == end) return std::nullopt;
  return value;
}

struct InputDefinition {
  std::string type;
  std::optional<bj::value> default_value;
};

class Parser {
 public:
  Parser(const sdk::PropertyMap& properties, InputResolution mode)
      : properties_(properties), mode_(mode) {}

  TemplateModel parse(std::string_view text) {
    YAML::Node loaded;
    try {
      loaded = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      fail("template", "invalid YAML: " + std::string(e.what()));
    }
    // Read through a const node: operator[] on a mutable one may add keys.
    const YAML::Node& root = loaded;
    if (!root.IsMap())
      fail("template", "expected a TOSCA document (a map), got " + std::string(shape(root)));
    allow_only(root, "template",
               {"tosca_definitions_version", "description", "metadata", "dsl_definitions",
                "template_name", "template_author", "template_version", "topology_template"},
               "not supported by the netns driver");
    const auto version = root["tosca_definitions_version"];
    if (!version) fail("tosca_definitions_version", "required");
    model_.version = scalar(version, "tosca_definitions_version");
    if (model_.version.rfind("tosca_simple_yaml_1_", 0) != 0) {
      fail("tosca_definitions_version",
           "unsupported version " + quoted(model_.version) + " (expected tosca_simple_yaml_1_x)");
    }
    const auto topology = root["topology_template"];
    if (!topology) fail(kTopology, "required");
    expect_map(topology, kTopology);
    allow_only(topology, kTopology, {"description", "inputs", "node_templates", "outputs"},
               "not supported by the netns driver");
    if (const auto inputs = topology["inputs"]; inputs && !inputs.IsNull()) parse_inputs(inputs);
    const auto nodes = topology["node_templates"];
    if (!nodes) fail(kNodes, "required");
    expect_map(nodes, kNodes);
    if (nodes.size() == 0) fail(kNodes, "no node templates");
    parse_nodes(nodes);
    check_references();
    check_addresses();
    if (const auto outputs = topology["outputs"]; outputs && !outputs.IsNull()) {
      parse_outputs(outputs);
    }
    return std::move(model_);
  }

 private:
  void parse_inputs(const YAML::Node& inputs) {
    expect_map(inputs, kInputs);
    for (const auto& entry : inputs) {
      const auto name = key_of(entry.first, kInputs);
      const auto where = child(kInputs, name);
      expect_map(entry.second, where);
      allow_only(entry.second, where, {"type", "description", "default", "required"},
                 "unknown key");
      InputDefinition input;
      const auto type = entry.second["type"];
      if (!type) fail(where, "missing 'type'");
      input.type = scalar(type, child(where, "type"));
      if (input.type != "string" && input.type != "integer") {
        fail(child(where, "type"),
             "unsupported type " + quoted(input.type) + " (supported: string, integer)");
      }
      if (const auto value = entry.second["default"]; value && !value.IsNull()) {
        const auto text = scalar(value, child(where, "default"));
        if (input.type == "integer") {
          const auto number = parse_integer(text);
          if (!number) fail(child(where, "default"), quoted(text) + " is not an integer");
          input.default_value = *number;
        } else {
          input.default_value = bj::string(text);
        }
      }
      inputs_.emplace(name, std::move(input));
    }
  }

  // The value of input `name`, or nullopt when unresolved in lenient mode.
  std::optional<bj::value> input_value(const std::string& name, std::string_view where) {
    const auto it = inputs_.find(name);
    if (it == inputs_.end()) {
      fail(where, "get_input " + quoted(name) + ": no such input in topology_template.inputs");
    }
    const auto& input = it->second;
    const auto input_where = child(kInputs, name);
    const auto* property = properties_.find(name);
    if (property && property->is_key()) {
      fail(input_where,
           "the value in the request's properties is key material (type key), not a " + input.type);
    }
    if (property && !property->value().is_null()) {
      if (input.type == "integer") {
        const auto number = property->as_integer();
        if (!number) fail(input_where, "the value in the request's properties is not an integer");
        return bj::value(*number);
      }
      if (const auto text = property->as_string()) return bj::value(bj::string(*text));
      if (property->value().is_int64()) {
        return bj::value(bj::string(std::to_string(property->value().get_int64())));
      }
      if (property->value().is_uint64()) {
        return bj::value(bj::string(std::to_string(property->value().get_uint64())));
      }
      fail(input_where, "the value in the request's properties is not a string");
    }
    if (input.default_value) return *input.default_value;
    if (mode_ == InputResolution::lenient) return std::nullopt;
    fail(input_where, "no value in the request's properties and no default");
  }

  // A `{get_input: name}` map, or nullopt when `node` is not one.
  std::optional<std::string> get_input_name(const YAML::Node& node, std::string_view where) {
    if (!node.IsMap() || !node["get_input"]) return std::nullopt;
    if (node.size() != 1) fail(where, "get_input must be the only key of its map");
    return scalar(node["get_input"], child(where, "get_input"));
  }

  // A string property: a scalar or `{get_input: name}`; nullopt when unresolved.
  std::optional<std::string> text_property(const YAML::Node& node, std::string_view where) {
    if (node.IsScalar()) return node.Scalar();
    if (const auto name = get_input_name(node, where)) {
      const auto value = input_value(*name, where);
      if (!value) return std::nullopt;
      if (value->is_string()) return std::string(value->get_string());
      return std::to_string(value->as_int64());
    }
    fail(where, "expected a string or {get_input: <name>}, got " + std::string(shape(node)));
  }

  YAML::Node properties_of(const YAML::Node& node, std::string_view where,
                           const std::vector<std::string_view>& allowed) {
    const auto properties = node["properties"];
    if (!properties || properties.IsNull()) return YAML::Node(YAML::NodeType::Map);
    const auto path = child(where, "properties");
    expect_map(properties, path);
    if (allowed.empty()) {
      for (const auto& entry : properties) {
        fail(child(path, key_of(entry.first, path)), "unknown property (this type has none)");
      }
    }
    allow_only(properties, path, allowed, "unknown property");
    return properties;
  }

  void parse_nodes(const YAML::Node& nodes) {
    for (const auto& entry : nodes) {
      const auto name = key_of(entry.first, kNodes);
      const auto where = child(kNodes, name);
      expect_map(entry.second, where);
      const auto& node = entry.second;
      const auto type_node = node["type"];
      if (!type_node) fail(where, "missing 'type'");
      const auto type = scalar(type_node, child(where, "type"));
      if (type == kComputeType) {
        allow_only(node, where, {"type", "description", "metadata", "properties", "capabilities"},
                   "not supported for a tosca.nodes.Compute");
        properties_of(node, where, {});
        model_.computes.push_back({name});
      } else if (type == kNetworkType) {
        allow_only(node, where, {"type", "description", "metadata", "properties"},
                   "not supported for a tosca.nodes.network.Network");
        parse_network(name, where,
                      properties_of(node, where, {"network_name", "cidr", "ip_version"}));
      } else if (type == kPortType) {
        allow_only(node, where, {"type", "description", "metadata", "properties", "requirements"},
                   "not supported for a tosca.nodes.network.Port");
        parse_port(name, where, node, properties_of(node, where, {"ip_address"}));
      } else {
        fail(where, "unsupported type " + quoted(type) +
                        " (supported: " + join({kComputeType, kNetworkType, kPortType}) + ")");
      }
      types_.emplace(name, type);
    }
  }

  void parse_network(const std::string& name, const std::string& where,
                     const YAML::Node& properties) {
    const auto path = child(where, "properties");
    NetworkNode network{name, name, std::nullopt};
    if (const auto value = properties["network_name"]; value && !value.IsNull()) {
      const auto text = text_property(value, child(path, "network_name"));
      if (text) {
        if (text->empty()) fail(child(path, "network_name"), "must not be empty");
        network.network_name = *text;
      }
    }
    if (const auto value = properties["ip_version"]; value && !value.IsNull()) {
      const auto text = text_property(value, child(path, "ip_version"));
      if (text && *text != "4") {
        fail(child(path, "ip_version"), "only IPv4 (4) is supported, got " + quoted(*text));
      }
    }
    const auto cidr = properties["cidr"];
    if (!cidr || cidr.IsNull()) fail(path, "missing required property 'cidr'");
    const auto cidr_where = child(path, "cidr");
    if (const auto text = text_property(cidr, cidr_where))
      network.cidr = parse_cidr(*text, cidr_where);
    model_.networks.push_back(std::move(network));
  }

  static Ipv4Network parse_cidr(const std::string& text, const std::string& where) {
    const auto slash = text.find('/');
    if (text.find(':') != std::string::npos) {
      fail(where, quoted(text) + " is not IPv4: only IPv4 networks are supported");
    }
    const auto address = slash == std::string::npos
                             ? std::nullopt
                             : parse_ipv4(std::string_view(text).substr(0, slash));
    const auto length = slash == std::string::npos
                            ? std::nullopt
                            : parse_integer(std::string_view(text).substr(slash + 1));
    if (!address || !length) fail(where, quoted(text) + " is not an IPv4 CIDR (a.b.c.d/n)");
    if (*length < 1 || *length > 30) {
      fail(where, quoted(text) + ": prefix length must be between 1 and 30");
    }
    Ipv4Network network{*address, static_cast<int>(*length)};
    if ((network.address & ~network.mask()) != 0) {
      Ipv4Network fixed{network.address & network.mask(), network.prefix_length};
      fail(where, quoted(text) + " has host bits set (did you mean " + fixed.to_string() + "?)");
    }
    return network;
  }

  void parse_port(const std::string& name, const std::string& where, const YAML::Node& node,
                  const YAML::Node& properties) {
    const auto path = child(where, "properties");
    PortNode port{name, {}, {}, std::nullopt};
    const auto address = properties["ip_address"];
    if (!address || address.IsNull()) fail(path, "missing required property 'ip_address'");
    const auto address_where = child(path, "ip_address");
    if (const auto text = text_property(address, address_where)) {
      port.ip_address = parse_ipv4(*text);
      if (!port.ip_address) fail(address_where, quoted(*text) + " is not an IPv4 address");
    }
    const auto requirements = node["requirements"];
    const auto req_where = child(where, "requirements");
    if (!requirements || requirements.IsNull()) {
      fail(where, "missing 'requirements' (a binding to a compute and a link to a network)");
    }
    if (!requirements.IsSequence()) {
      fail(req_where, "expected a list, got " + std::string(shape(requirements)));
    }
    for (const auto& item : requirements) {
      if (!item.IsMap() || item.size() != 1) {
        fail(req_where, "each requirement must be a map with one key (binding or link)");
      }
      const auto entry = *item.begin();
      const auto key = key_of(entry.first, req_where);
      const auto item_where = child(req_where, key);
      std::string target;
      if (entry.second.IsMap()) {
        allow_only(entry.second, item_where, {"node", "relationship", "capability"}, "unknown key");
        const auto target_node = entry.second["node"];
        if (!target_node) fail(item_where, "missing 'node'");
        target = scalar(target_node, child(item_where, "node"));
      } else {
        target = scalar(entry.second, item_where);
      }
      std::string* slot = nullptr;
      if (key == "binding") {
        slot = &port.compute;
      } else if (key == "link") {
        slot = &port.network;
      } else {
        fail(item_where, "unsupported requirement (supported: binding, link)");
      }
      if (!slot->empty()) fail(item_where, "given more than once");
      if (target.empty()) fail(item_where, "empty node name");
      *slot = target;
    }
    if (port.compute.empty())
      fail(req_where, "missing 'binding' (the compute this port belongs to)");
    if (port.network.empty()) fail(req_where, "missing 'link' (the network this port is on)");
    model_.ports.push_back(std::move(port));
  }

  void check_target(const std::string& port, std::string_view requirement,
                    const std::string& target, std::string_view expected) {
    const auto where = child(child(child(kNodes, port), "requirements"), requirement);
    const auto it = types_.find(target);
    if (it == types_.end()) fail(where, "unknown node " + quoted(target));
    if (it->second != expected) {
      fail(where, "node " + quoted(target) + " is a " + it->second + ", expected a " +
                      std::string(expected));
    }
  }

  void check_references() {
    for (const auto& port : model_.ports) {
      check_target(port.name, "binding", port.compute, kComputeType);
      check_target(port.name, "link", port.network, kNetworkType);
    }
  }

  const NetworkNode& network(const std::string& name) const {
    return *std::find_if(model_.networks.begin(), model_.networks.end(),
                         [&](const NetworkNode& n) { return n.name == name; });
  }

  void check_addresses() {
    for (std::size_t i = 0; i < model_.ports.size(); ++i) {
      const auto& port = model_.ports[i];
      const auto& net = network(port.network);
      const auto where = child(child(kNodes, port.name), "properties.ip_address");
      if (port.ip_address && net.cidr) {
        const auto text = format_ipv4(*port.ip_address);
        const auto cidr = net.cidr->to_string();
        if (!net.cidr->contains(*port.ip_address)) {
          fail(where, text + " is outside network " + quoted(net.name) + " (" + cidr + ")");
        }
        if (*port.ip_address == net.cidr->address) {
          fail(where, text + " is the network address of " + quoted(net.name) + " (" + cidr + ")");
        }
        if (*port.ip_address == net.cidr->broadcast()) {
          fail(where,
               text + " is the broadcast address of " + quoted(net.name) + " (" + cidr + ")");
        }
      }
      for (std::size_t j = 0; j < i; ++j) {
        const auto& other = model_.ports[j];
        if (port.ip_address && other.ip_address && other.network == port.network &&
            *other.ip_address == *port.ip_address) {
          fail(where, format_ipv4(*port.ip_address) + " is already used by port " +
                          quoted(other.name) + " on network " + quoted(port.network));
        }
        if (other.compute != port.compute) continue;
        const auto& other_net = network(other.network);
        const bool overlap = other.network == port.network ||
                             (net.cidr && other_net.cidr && net.cidr->overlaps(*other_net.cidr));
        if (overlap) {
          fail(child(child(kNodes, port.name), "requirements.link"),
               "compute " + quoted(port.compute) + " already has port " + quoted(other.name) +
                   " on network " + quoted(other.network) +
                   (other.network == port.network ? std::string()
                                                  : " whose CIDR overlaps " + quoted(net.name)));
        }
      }
    }
  }

  void parse_outputs(const YAML::Node& outputs) {
    expect_map(outputs, kOutputs);
    for (const auto& entry : outputs) {
      const auto name = key_of(entry.first, kOutputs);
      const auto where = child(kOutputs, name);
      expect_map(entry.second, where);
      allow_only(entry.second, where, {"value", "description"}, "unknown key");
      const auto value = entry.second["value"];
      if (!value) fail(where, "missing 'value'");
      const auto value_where = child(where, "value");
      OutputDefinition output;
      output.name = name;
      if (value.IsScalar()) {
        output.value = bj::string(value.Scalar());
      } else if (const auto input = get_input_name(value, value_where)) {
        output.input = *input;
        if (auto resolved = input_value(*input, value_where)) output.value = std::move(*resolved);
      } else if (value.IsMap() && value["get_attribute"]) {
        if (value.size() != 1) fail(value_where, "get_attribute must be the only key of its map");
        const auto args = value["get_attribute"];
        const auto args_where = child(value_where, "get_attribute");
        if (!args.IsSequence() || args.size() != 2) {
          fail(args_where, "expected [<node>, <attribute>]");
        }
        output.node = scalar(args[0], args_where);
        output.attribute = scalar(args[1], args_where);
        check_attribute(output, args_where);
      } else {
        fail(value_where,
             "expected a string, {get_input: <name>} or {get_attribute: [<node>, "
             "<attribute>]}, got " +
                 std::string(shape(value)));
      }
      model_.outputs.push_back(std::move(output));
    }
  }

  void check_attribute(const OutputDefinition& output, const std::string& where) {
    if (output.node == "SELF" || output.node == "HOST" || output.node == "SOURCE" ||
        output.node == "TARGET") {
      fail(where, "keyword " + quoted(output.node) + " is not supported: name a node template");
    }
    const auto it = types_.find(output.node);
    if (it == types_.end()) fail(where, "unknown node " + quoted(output.node));
    const auto supported = supported_attributes(it->second);
    if (std::find(supported.begin(), supported.end(), output.attribute) == supported.end()) {
      fail(where, "node " + quoted(output.node) + " (" + it->second + ") has no attribute " +
                      quoted(output.attribute) + " (supported: " + join(supported) + ")");
    }
    if (it->second == kComputeType && output.attribute == "ip_address") {
      const bool has_port =
          std::any_of(model_.ports.begin(), model_.ports.end(),
                      [&](const PortNode& p) { return p.compute == output.node; });
      if (!has_port) {
        fail(where, "compute " + quoted(output.node) + " has no port, hence no ip_address");
      }
    }
  }

  const sdk::PropertyMap& properties_;
  InputResolution mode_;
  std::map<std::string, InputDefinition> inputs_;
  std::map<std::string, std::string> types_;  // node name -> TOSCA type
  TemplateModel model_;
};

}  // namespace

std::uint32_t Ipv4Network::mask() const noexcept {
  return prefix_length <= 0 ? 0u : ~std::uint32_t{0} << (32 - prefix_length);
}

std::uint32_t Ipv4Network::broadcast() const noexcept {
  return address | ~mask();
}

bool Ipv4Network::contains(std::uint32_t host) const noexcept {
  return (host & mask()) == address;
}

bool Ipv4Network::overlaps(const Ipv4Network& other) const noexcept {
  return contains(other.address) || other.contains(address);
}

std::string Ipv4Network::to_string() const {
  return format_ipv4(address) + "/" + std::to_string(prefix_length);
}

std::optional<std::uint32_t> parse_ipv4(std::string_view text) {
  if (text.empty() || text.size() > 15) return std::nullopt;
  const std::string copy(text);
  in_addr address{};
  if (::inet_pton(AF_INET, copy.c_str(), &address) != 1) return std::nullopt;
  return ntohl(address.s_addr);
}

std::string format_ipv4(std::uint32_t address) {
  return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 0xff) + "." +
         std::to_string((address >> 8) & 0xff) + "." + std::to_string(address & 0xff);
}

std::optional<std::string_view> TemplateModel::type_of(std::string_view name) const {
  for (const auto& node : computes) {
    if (node.name == name) return kComputeType;
  }
  for (const auto& node : networks) {
    if (node.name == name) return kNetworkType;
  }
  for (const auto& node : ports) {
    if (node.name == name) return kPortType;
  }
  return std::nullopt;
}

void check_template_type(std::string_view type) {
  std::string upper(type);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (upper != "TOSCA") {
    throw sdk::InvalidTemplateError("templateType: " + quoted(type) +
                                    " is not supported (the netns driver takes TOSCA)");
  }
}

TemplateModel parse_tosca_template(std::string_view text, const sdk::PropertyMap& properties,
                                   InputResolution mode) {
  return Parser(properties, mode).parse(text);
}

std::vector<std::string_view> supported_attributes(std::string_view type) {
  if (type == kComputeType) return {"ip_address", "name"};
  if (type == kNetworkType) return {"cidr", "name", "network_name"};
  if (type == kPortType) return {"ip_address", "name"};
  return {};
}

}  // namespace flint::drivers::netns
