#include "resource_state.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include <boost/json/serialize.hpp>
#include <yaml-cpp/yaml.h>

#include <flint/sdk/errors.hpp>
#include <flint/sdk/json.hpp>

namespace flint::cli {
namespace {

// The line and column (from 1, in bytes) of the first byte of `text` that
// does not start a well-formed UTF-8 sequence.
std::optional<std::pair<std::size_t, std::size_t>> first_invalid_utf8(std::string_view text) {
  std::size_t line = 1;
  std::size_t line_start = 0;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t length = sdk::json::utf8_sequence(text, at);
    if (length == 0) return std::pair{line, at - line_start + 1};
    if (text[at] == '\n') {
      ++line;
      line_start = at + 1;
    }
    at += length;
  }
  return std::nullopt;
}

[[noreturn]] void fail(std::string_view path, std::string_view problem) {
  throw ResourceStateError(std::string(path) + ": " + std::string(problem));
}

std::string join(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return std::string(path) + "." + std::string(key);
}

std::string json_quoted(std::string_view text) {
  return boost::json::serialize(boost::json::value(boost::json::string(text)));
}

// A plain (untagged, unquoted) scalar is typed by its text; yaml-cpp reports
// it with the non-specific tag "?" (quoted scalars get "!").
bool is_plain(const YAML::Node& node) {
  return node.Tag() == "?" || node.Tag().empty();
}

bool is_string_tag(const YAML::Node& node) {
  return node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str";
}

bool all_of(std::string_view text, bool (*predicate)(char)) {
  return !text.empty() && std::all_of(text.begin(), text.end(), predicate);
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_octal(char c) {
  return c >= '0' && c <= '7';
}

// YAML 1.2 core schema integers: [-+]?[0-9]+, 0o[0-7]+, 0x[0-9a-fA-F]+.
std::optional<boost::json::value> parse_integer(std::string_view text, std::string_view path) {
  int base = 10;
  bool negative = false;
  std::string_view digits = text;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'o')) {
    base = text[1] == 'x' ? 16 : 8;
    digits = text.substr(2);
    if (!all_of(digits, base == 16 ? is_hex : is_octal)) return std::nullopt;
  } else {
    if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
      negative = digits[0] == '-';
      digits.remove_prefix(1);
    }
    if (!all_of(digits, is_digit)) return std::nullopt;
  }
  std::uint64_t magnitude = 0;
  auto [end, error] =
      std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
  if (error != std::errc() || end != digits.data() + digits.size()) {
    fail(path, "integer " + std::string(text) + " does not fit in 64 bits");
  }
  if (!negative) {
    if (magnitude <= static_cast<std::uint64_t>(INT64_MAX)) {
      return boost::json::value(static_cast<std::int64_t>(magnitude));
    }
    return boost::json::value(magnitude);
  }
  constexpr std::uint64_t kMinMagnitude = static_cast<std::uint64_t>(INT64_MAX) + 1;
  if (magnitude > kMinMagnitude)
    fail(path, "integer " + std::string(text) + " does not fit in 64 bits");
  if (magnitude == kMinMagnitude) return boost::json::value(INT64_MIN);
  return boost::json::value(-static_cast<std::int64_t>(magnitude));
}

// YAML 1.2 core schema floats: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
std::optional<boost::json::value> parse_float(std::string_view text, std::string_view path) {
  std::string_view rest = text;
  if (!rest.empty() && (rest[0] == '-' || rest[0] == '+')) rest.remove_prefix(1);
  static constexpr std::array<std::string_view, 6> kSpecial = {".inf", ".Inf", ".INF",
                                                               ".nan", ".NaN", ".NAN"};
  if (std::find(kSpecial.begin(), kSpecial.end(), rest) != kSpecial.end()) {
    fail(path, std::string(text) + " cannot be represented in JSON");
  }
  std::size_t i = 0;
  std::size_t int_digits = 0;
  while (i < rest.size() && is_digit(rest[i])) ++i, ++int_digits;
  std::size_t frac_digits = 0;
  bool has_dot = false;
  if (i < rest.size() && rest[i] == '.') {
    has_dot = true;
    ++i;
    while (i < rest.size() && is_digit(rest[i])) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return std::nullopt;
  bool has_exponent = false;
  if (i < rest.size() && (rest[i] == 'e' || rest[i] == 'E')) {
    has_exponent = true;
    ++i;
    if (i < rest.size() && (rest[i] == '-' || rest[i] == '+')) ++i;
    std::size_t exp_digits = 0;
    while (i < rest.size() && is_digit(rest[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return std::nullopt;
  }
  if (i != rest.size() || (!has_dot && !has_exponent)) return std::nullopt;
  // from_chars does not take a leading '+'.
  std::string_view number = text[0] == '+' ? text.substr(1) : text;
  double value = 0;
  auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (error != std::errc() || end != number.data() + number.size() || !std::isfinite(value)) {
    fail(path, "number " + std::string(text) + " cannot be represented in JSON");
  }
  return boost::json::value(value);
}

boost::json::value plain_scalar(const std::string& text, std::string_view path) {
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  if (auto integer = parse_integer(text, path)) return *integer;
  if (auto real = parse_float(text, path)) return *real;
  return boost::json::string(text);
}

std::string scalar_text(const YAML::Node& node, std::string_view path) {
  if (!node.IsScalar()) fail(path, "expected a string");
  return node.Scalar();
}

std::string type_name(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return json_quoted(node.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    default:
      return "nothing";
  }
}

const std::set<std::string, std::less<>>& entry_keys() {
  static const std::set<std::string, std::less<>> keys = {"type", "value", "keyName", "privateKey",
                                                          "publicKey"};
  return keys;
}

// A map is a full `{type, value}` entry when it has a scalar `type` and no key
// other than those of an entry; anything else is a plain map value.
bool is_full_entry(const YAML::Node& node) {
  if (!node.IsMap()) return false;
  bool has_type = false;
  for (const auto& item : node) {
    if (!item.first.IsScalar() || !entry_keys().contains(item.first.Scalar())) return false;
    if (item.first.Scalar() == "type") has_type = item.second.IsScalar();
  }
  return has_type;
}

std::string inferred_type(const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
      return "integer";
    case boost::json::kind::double_:
      return "float";
    case boost::json::kind::bool_:
      return "boolean";
    case boost::json::kind::array:
      return "list";
    case boost::json::kind::object:
      return "map";
    default:
      return "string";
  }
}

// The value of a full entry, checked against its declared type.
boost::json::value typed_value(const std::string& type, const YAML::Node& node,
                               std::string_view path) {
  if (!node.IsDefined() || node.IsNull()) return nullptr;
  if (type == "string" || type == "timestamp" || type == "key") {
    // Declared strings keep their text: `value: 007` stays "007".
    if (!node.IsScalar()) fail(path, "expected a string, got " + type_name(node));
    return boost::json::string(node.Scalar());
  }
  auto value = yaml_to_json(node, path);
  if (type == "integer" && !value.is_int64() && !value.is_uint64()) {
    fail(path, "expected an integer, got " + type_name(node));
  }
  if (type == "float") {
    if (value.is_int64()) return static_cast<double>(value.get_int64());
    if (value.is_uint64()) return static_cast<double>(value.get_uint64());
    if (!value.is_double()) fail(path, "expected a number, got " + type_name(node));
  }
  if (type == "boolean" && !value.is_bool())
    fail(path, "expected true or false, got " + type_name(node));
  if (type == "list" && !value.is_array()) fail(path, "expected a list, got " + type_name(node));
  if (type == "map" && !value.is_object()) fail(path, "expected a map, got " + type_name(node));
  return value;
}

boost::json::object property_entry(const YAML::Node& node, std::string_view path) {
  boost::json::object entry;
  if (is_full_entry(node)) {
    const std::string type = node["type"].Scalar();
    if (type.empty()) fail(join(path, "type"), "must not be empty");
    entry["type"] = type;
    entry["value"] = typed_value(type, node["value"], join(path, "value"));
    for (const char* field : {"keyName", "privateKey", "publicKey"}) {
      if (node[field]) entry[field] = scalar_text(node[field], join(path, field));
    }
    if (type != "key" && (node["keyName"] || node["privateKey"] || node["publicKey"])) {
      fail(path, "keyName, privateKey and publicKey belong to entries of type key");
    }
    return entry;
  }
  auto value = yaml_to_json(node, path);
  entry["type"] = inferred_type(value);
  entry["value"] = std::move(value);
  return entry;
}

sdk::PropertyMap property_map(const YAML::Node& node, std::string_view path) {
  if (node.IsNull()) return {};
  if (!node.IsMap()) fail(path, "expected a map of name to value, got " + type_name(node));
  boost::json::object wire;
  for (const auto& item : node) {
    const std::string name = scalar_text(item.first, path);
    const std::string entry_path = join(path, name);
    if (wire.contains(name)) fail(entry_path, "listed twice");
    wire[name] = property_entry(item.second, entry_path);
  }
  // The SDK decoder applies the server's own rules (key entries...).
  return sdk::json::decode_property_map(wire, path);
}

sdk::AssociatedTopology topology(const YAML::Node& node, std::string_view path) {
  if (node.IsNull()) return {};
  if (!node.IsMap()) fail(path, "expected a map of name to {id, type}, got " + type_name(node));
  boost::json::object wire;
  for (const auto& item : node) {
    const std::string name = scalar_text(item.first, path);
    const std::string entry_path = join(path, name);
    if (wire.contains(name)) fail(entry_path, "listed twice");
    if (!item.second.IsMap())
      fail(entry_path, "expected {id, type}, got " + type_name(item.second));
    boost::json::object entry;
    for (const auto& field : item.second) {
      const std::string key = scalar_text(field.first, entry_path);
      if (key != "id" && key != "type")
        fail(join(entry_path, key), "unknown field (expected id, type)");
      // Ids are text even when they look like numbers.
      entry[key] = scalar_text(field.second, join(entry_path, key));
    }
    wire[name] = std::move(entry);
  }
  return sdk::json::decode_topology(wire, path);
}

sdk::DeploymentLocation location(const YAML::Node& node, std::string_view path) {
  if (!node.IsMap()) fail(path, "expected {name, type, properties}, got " + type_name(node));
  boost::json::object wire;
  for (const auto& field : node) {
    const std::string key = scalar_text(field.first, path);
    const std::string field_path = join(path, key);
    if (key == "name" || key == "type") {
      wire[key] = scalar_text(field.second, field_path);
    } else if (key == "properties") {
      if (!field.second.IsNull() && !field.second.IsMap()) {
        fail(field_path, "expected a map, got " + type_name(field.second));
      }
      wire[key] = field.second.IsNull() ? boost::json::value(boost::json::object())
                                        : yaml_to_json(field.second, field_path);
    } else {
      fail(field_path, "unknown field (expected name, type, properties)");
    }
  }
  return sdk::json::decode_deployment_location(wire, path);
}

}  // namespace

boost::json::value yaml_to_json(const YAML::Node& node, std::string_view path) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return nullptr;
    case YAML::NodeType::Scalar:
      if (is_string_tag(node) || !is_plain(node)) return boost::json::string(node.Scalar());
      return plain_scalar(node.Scalar(), path);
    case YAML::NodeType::Sequence: {
      boost::json::array array;
      std::size_t index = 0;
      for (const auto& item : node) {
        array.push_back(
            yaml_to_json(item, std::string(path) + "[" + std::to_string(index++) + "]"));
      }
      return array;
    }
    case YAML::NodeType::Map: {
      boost::json::object object;
      for (const auto& item : node) {
        if (!item.first.IsScalar()) fail(path, "map keys must be plain text");
        const std::string key = item.first.Scalar();
        if (object.contains(key)) fail(join(path, key), "listed twice");
        object[key] = yaml_to_json(item.second, join(path, key));
      }
      return object;
    }
  }
  return nullptr;
}

ResourceState parse_resource_state(std::string_view yaml, std::string_view source) {
  const std::string prefix = std::string(source) + ": ";
  if (const auto bad = first_invalid_utf8(yaml)) {
    // Sent as is, it would make the request's JSON malformed.
    throw ResourceStateError(prefix + "line " + std::to_string(bad->first) + ", column " +
                             std::to_string(bad->second) + ": not valid UTF-8");
  }
  YAML::Node root;
  try {
    const auto documents = YAML::LoadAll(std::string(yaml));
    if (documents.size() > 1) {
      // YAML::Load would read the first and ignore the rest, typos and all.
      // An empty second document is marked past the text's last line.
      const auto lines = static_cast<std::size_t>(std::count(yaml.begin(), yaml.end(), '\n')) +
                         (yaml.ends_with('\n') ? 0 : 1);
      const auto line = std::min(static_cast<std::size_t>(documents[1].Mark().line + 1), lines);
      throw ResourceStateError(prefix + "line " + std::to_string(line) +
                               ": a second YAML document; a resource state is one");
    }
    if (!documents.empty()) root = documents.front();
  } catch (const YAML::Exception& e) {
    throw ResourceStateError(prefix + "line " + std::to_string(e.mark.line + 1) + ", column " +
                             std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  ResourceState state;
  if (!root.IsDefined() || root.IsNull()) return state;
  try {
    if (!root.IsMap())
      fail("(document)", "expected a map at the top level, got " + type_name(root));
    std::set<std::string, std::less<>> seen;
    for (const auto& item : root) {
      const std::string key = scalar_text(item.first, "(document)");
      if (!seen.insert(key).second) fail(key, "listed twice");
      const YAML::Node& value = item.second;
      if (key == "systemProperties") {
        state.system_properties = property_map(value, key);
      } else if (key == "resourceProperties") {
        state.resource_properties = property_map(value, key);
      } else if (key == "requestProperties") {
        state.request_properties = property_map(value, key);
      } else if (key == "associatedTopology") {
        state.associated_topology = topology(value, key);
      } else if (key == "deploymentLocation") {
        state.deployment_location = location(value, key);
      } else {
        fail(key,
             "unknown key (expected systemProperties, resourceProperties, requestProperties, "
             "associatedTopology, deploymentLocation)");
      }
    }
  } catch (const ResourceStateError& e) {
    throw ResourceStateError(prefix + e.what());
  } catch (const sdk::DriverError& e) {
    throw ResourceStateError(prefix + e.what());
  } catch (const YAML::Exception& e) {
    throw ResourceStateError(prefix + e.msg);
  }
  return state;
}

ResourceState load_resource_state(const std::filesystem::path& path) {
  // Opened as a stream, a directory reads as an empty (valid) state.
  if (std::error_code ignored; std::filesystem::is_directory(path, ignored)) {
    throw ResourceStateError(path.string() + ": cannot read the resource state: Is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ResourceStateError(path.string() + ": cannot read the resource state: " +
                             std::error_code(errno, std::generic_category()).message());
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ResourceStateError(path.string() + ": cannot read the resource state");
  return parse_resource_state(text.str(), path.string());
}

}  // namespace flint::cli
