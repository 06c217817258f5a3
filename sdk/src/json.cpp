#include <algorithm>
#include <cmath>
#include <initializer_list>

#include <boost/json/parse.hpp>
#include <boost/system/system_error.hpp>

#include <flint/sdk/errors.hpp>
#include <flint/sdk/json.hpp>

namespace flint::sdk::detail {

// Appends decoded entries in wire order, without the lookup of `set` or
// `add` (a scan of the container per entry, quadratic for a large request):
// a JSON object names each entry once.
struct DecodedAppend {
  static void to(PropertyMap& map, std::string name, Property property) {
    map.entries_.emplace_back(std::move(name), std::move(property));
  }
  static void to(AssociatedTopology& topology, std::string name,
                 std::optional<TopologyEntry> entry) {
    topology.entries_.emplace_back(std::move(name), std::move(entry));
  }
};

}  // namespace flint::sdk::detail

namespace flint::sdk::json {
namespace {

namespace bj = boost::json;

// Builds the message only when failing: the success path never concatenates
// field paths.
[[noreturn]] void fail(std::initializer_list<std::string_view> path, std::string_view problem) {
  std::string message;
  for (std::string_view part : path) {
    if (part.empty()) continue;
    if (!message.empty()) message += '.';
    message += part;
  }
  if (!message.empty()) message += ": ";
  message += problem;
  throw InvalidRequestError(std::move(message));
}

// Copies into the default memory resource, so that the result never depends
// on the lifetime of the parser's (possibly monotonic) buffer.
bj::value copy(const bj::value& value) {
  return bj::value(value, bj::storage_ptr());
}
bj::object copy(const bj::object& object) {
  return bj::object(object, bj::storage_ptr());
}

// The error quotes the start of the name only: the whole could be
// megabytes, or hold a NUL.
void check_name(std::string_view path, std::string_view name) {
  const std::string problem = unusable_name(name);
  if (problem.empty()) return;
  fail({path}, "the name \"" + printable(name, 32) + "\" " + problem);
}

const bj::object& expect_object(const bj::value& value, std::string_view path) {
  const auto* object = value.if_object();
  if (object == nullptr) fail({path}, "expected an object");
  return *object;
}

// A required string field of `object` (the object at `path`).
std::string_view required_string(const bj::object& object, std::string_view path,
                                 std::string_view name) {
  const auto* field = object.if_contains(name);
  if (field == nullptr || field->is_null()) fail({path, name}, "required");
  const auto* text = field->if_string();
  if (text == nullptr) fail({path, name}, "expected a string");
  return *text;
}

// An optional string field: nullopt when absent or null.
std::optional<std::string_view> optional_string(const bj::object& object, std::string_view path,
                                                std::string_view name) {
  const auto* field = object.if_contains(name);
  if (field == nullptr || field->is_null()) return std::nullopt;
  const auto* text = field->if_string();
  if (text == nullptr) fail({path, name}, "expected a string");
  return std::string_view(*text);
}

AssociatedTopology decode_topology_entries(const bj::value& value, std::string_view path,
                                           bool allow_removals) {
  const auto& object = expect_object(value, path);
  AssociatedTopology topology;
  for (const auto& field : object) {
    const std::string_view name = field.key();
    check_name(path, name);
    if (allow_removals && field.value().is_null()) {
      detail::DecodedAppend::to(topology, std::string(name), std::nullopt);
      continue;
    }
    const auto* entry = field.value().if_object();
    if (entry == nullptr) {
      fail({path, name}, allow_removals ? "expected an object with \"id\" and \"type\", or null"
                                        : "expected an object with \"id\" and \"type\"");
    }
    // The entry's own path is only needed for an error: build it lazily.
    auto member = [&](std::string_view key) -> std::string_view {
      const auto* item = entry->if_contains(key);
      if (item == nullptr || item->is_null()) fail({path, name, key}, "required");
      const auto* text = item->if_string();
      if (text == nullptr) fail({path, name, key}, "expected a string");
      return *text;
    };
    const std::string_view id = member("id");
    const std::string_view type = member("type");
    detail::DecodedAppend::to(topology, std::string(name),
                              TopologyEntry{std::string(id), std::string(type)});
  }
  return topology;
}

}  // namespace

std::string unusable_name(std::string_view name) {
  if (name.size() > kMaxNameBytes) {
    return "is longer than " + std::to_string(kMaxNameBytes) + " bytes";
  }
  for (const char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "has a control character";
  }
  return {};
}

std::string printable(std::string_view text, std::size_t max_bytes) {
  const std::string_view shown = text.substr(0, max_bytes);
  std::string out;
  out.reserve(shown.size() + 3);
  for (const char c : shown) {
    out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c;
  }
  if (text.size() > max_bytes) out += "...";
  return out;
}

std::size_t utf8_sequence(std::string_view text, std::size_t at) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(at);
  if (lead < 0x80) return 1;
  if (lead < 0xC2 || lead > 0xF4) return 0;
  const std::size_t length = lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
  if (text.size() - at < length) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(at + k) & 0xC0) != 0x80) return 0;
  }
  const unsigned char second = byte(at + 1);
  if ((lead == 0xE0 && second < 0xA0) || (lead == 0xED && second > 0x9F) ||
      (lead == 0xF0 && second < 0x90) || (lead == 0xF4 && second > 0x8F)) {
    return 0;  // overlong, a surrogate, or past U+10FFFF
  }
  return length;
}

bool is_valid_utf8(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size()) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t length = utf8_sequence(text, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

namespace {

// `text` with each byte that starts no well-formed sequence replaced.
std::string replace_invalid_utf8(std::string_view text) {
  std::string repaired;
  repaired.reserve(text.size() + 8);
  for (std::size_t i = 0; i < text.size();) {
    if (const std::size_t length = utf8_sequence(text, i); length != 0) {
      repaired.append(text.substr(i, length));
      i += length;
    } else {
      repaired.append("\xEF\xBF\xBD");  // U+FFFD
      ++i;
    }
  }
  return repaired;
}

}  // namespace

bj::value parse_stored(std::string_view text, boost::system::error_code& ec) {
  bj::parse_options options;
  options.max_depth = kMaxStoredDepth;
  return bj::parse(text, ec, {}, options);
}

bj::value parse_stored(std::string_view text) {
  boost::system::error_code ec;
  bj::value value = parse_stored(text, ec);
  if (ec) throw boost::system::system_error(ec);
  return value;
}

bool nests_deeper_than(const bj::object& object, std::size_t limit) noexcept {
  // An object or array is one level more than the deepest item in it.
  return limit == 0 || std::any_of(object.begin(), object.end(), [limit](const auto& member) {
           return nests_deeper_than(member.value(), limit - 1);
         });
}

bool nests_deeper_than(const bj::value& value, std::size_t limit) noexcept {
  if (const auto* object = value.if_object()) return nests_deeper_than(*object, limit);
  const auto* array = value.if_array();
  if (array == nullptr) return false;
  return limit == 0 || std::any_of(array->begin(), array->end(), [limit](const bj::value& item) {
           return nests_deeper_than(item, limit - 1);
         });
}

std::size_t repair_utf8(bj::value& value) {
  if (auto* object = value.if_object()) return repair_utf8(*object);
  std::size_t changed = 0;
  if (auto* text = value.if_string()) {
    if (!is_valid_utf8(*text)) {
      *text = replace_invalid_utf8(*text);
      ++changed;
    }
  } else if (auto* array = value.if_array()) {
    for (auto& item : *array) changed += repair_utf8(item);
  }
  return changed;
}

std::size_t repair_utf8(bj::object& object) {
  std::size_t changed = 0;
  bool bad_key = false;
  for (auto& [key, item] : object) {
    changed += repair_utf8(item);
    bad_key = bad_key || !is_valid_utf8(key);
  }
  if (bad_key) {
    // Keys are immutable in place: rebuild the object, in order.
    bj::object rebuilt(object.storage());
    rebuilt.reserve(object.size());
    for (auto& [key, item] : object) {
      if (is_valid_utf8(key)) {
        rebuilt.emplace(key, std::move(item));
      } else {
        rebuilt.emplace(replace_invalid_utf8(key), std::move(item));
        ++changed;
      }
    }
    object = std::move(rebuilt);
  }
  return changed;
}

std::size_t null_non_finite(bj::value& value) {
  if (auto* object = value.if_object()) return null_non_finite(*object);
  if (auto* array = value.if_array()) {
    std::size_t changed = 0;
    for (auto& item : *array) changed += null_non_finite(item);
    return changed;
  }
  if (value.is_double() && !std::isfinite(value.get_double())) {
    value = nullptr;
    return 1;
  }
  return 0;
}

std::size_t null_non_finite(bj::object& object) {
  std::size_t changed = 0;
  for (auto& [key, item] : object) changed += null_non_finite(item);
  return changed;
}

namespace {

bool holds_non_finite(const bj::value& value) noexcept {
  if (const auto* object = value.if_object()) {
    return std::any_of(object->begin(), object->end(),
                       [](const auto& member) { return holds_non_finite(member.value()); });
  }
  if (const auto* array = value.if_array()) {
    return std::any_of(array->begin(), array->end(), holds_non_finite);
  }
  return value.is_double() && !std::isfinite(value.get_double());
}

}  // namespace

std::optional<std::string> find_non_finite(const bj::value& value, std::string_view path) {
  if (!holds_non_finite(value)) return std::nullopt;
  // Down the members that hold one: the path is built only for a refusal.
  std::string where(path);
  for (const bj::value* at = &value;;) {
    if (const auto* object = at->if_object()) {
      for (const auto& [key, item] : *object) {
        if (!holds_non_finite(item)) continue;
        if (!where.empty()) where += '.';
        where.append(key.data(), key.size());
        at = &item;
        break;
      }
    } else if (const auto* array = at->if_array()) {
      for (std::size_t i = 0; i < array->size(); ++i) {
        if (!holds_non_finite((*array)[i])) continue;
        where += "[" + std::to_string(i) + "]";
        at = &(*array)[i];
        break;
      }
    } else {
      return where;
    }
  }
}

bool may_hold_non_finite(std::string_view text) noexcept {
  return text.find("Infinity") != std::string_view::npos ||
         text.find("NaN") != std::string_view::npos;
}

PropertyMap decode_property_map(const bj::value& value, std::string_view path) {
  const auto& object = expect_object(value, path);
  PropertyMap map;
  map.reserve(object.size());
  for (const auto& field : object) {
    const std::string_view name = field.key();
    check_name(path, name);
    const auto* entry = field.value().if_object();
    const bj::value* type = entry == nullptr ? nullptr : entry->if_contains("type");
    if (type == nullptr) fail({path, name}, "expected an object with \"type\"");
    const auto* type_name = type->if_string();
    if (type_name == nullptr) fail({path, name, "type"}, "expected a string");

    const auto* raw = entry->if_contains("value");
    bj::value property_value = raw == nullptr ? bj::value() : copy(*raw);

    if (*type_name == "key") {
      // The key material sits beside `value` (contract, section 1).
      auto private_key = entry->if_contains("privateKey");
      if (private_key == nullptr || private_key->is_null()) {
        fail({path, name, "privateKey"}, "required");
      }
      if (!private_key->is_string()) fail({path, name, "privateKey"}, "expected a string");
      if (private_key->get_string().empty()) {
        fail({path, name, "privateKey"}, "must not be empty");
      }
      KeyMaterial material;
      material.private_key = private_key->get_string();
      // keyName/publicKey errors need the entry's path: join it only on failure.
      auto optional_member = [&](std::string_view key) -> std::optional<std::string_view> {
        const auto* item = entry->if_contains(key);
        if (item == nullptr || item->is_null()) return std::nullopt;
        if (!item->is_string()) fail({path, name, key}, "expected a string");
        return std::string_view(item->get_string());
      };
      if (auto key_name = optional_member("keyName")) material.key_name = *key_name;
      if (auto public_key = optional_member("publicKey")) material.public_key = *public_key;
      detail::DecodedAppend::to(map, std::string(name),
                                Property::key(std::move(material), std::move(property_value)));
    } else {
      detail::DecodedAppend::to(map, std::string(name),
                                Property(std::string(*type_name), std::move(property_value)));
    }
  }
  return map;
}

bj::object encode(const PropertyMap& map) {
  bj::object out;
  out.reserve(map.size());
  for (const auto& [name, property] : map) {
    bj::object entry;
    entry["type"] = property.type();
    if (const auto* key = property.key_material()) {
      entry.reserve(5);
      entry["keyName"] = key->key_name;
      entry["privateKey"] = key->private_key;
      if (key->public_key) entry["publicKey"] = *key->public_key;
      if (!property.value().is_null()) entry["value"] = property.value();
    } else {
      entry["value"] = property.value();
    }
    out[name] = std::move(entry);
  }
  return out;
}

AssociatedTopology decode_topology(const bj::value& value, std::string_view path) {
  return decode_topology_entries(value, path, /*allow_removals=*/false);
}

AssociatedTopology decode_output_topology(const bj::value& value, std::string_view path) {
  return decode_topology_entries(value, path, /*allow_removals=*/true);
}

bj::object encode(const AssociatedTopology& topology) {
  bj::object out;
  out.reserve(topology.size());
  for (const auto& [name, entry] : topology) {
    if (entry) {
      out[name] = bj::object{{"id", entry->id}, {"type", entry->type}};
    } else {
      out[name] = nullptr;
    }
  }
  return out;
}

DeploymentLocation decode_deployment_location(const bj::value& value, std::string_view path) {
  const auto& object = expect_object(value, path);
  DeploymentLocation location;
  const std::string_view name = required_string(object, path, "name");
  if (name.empty()) fail({path, "name"}, "must not be empty");
  if (const auto problem = unusable_name(name); !problem.empty()) fail({path, "name"}, problem);
  location.name = name;
  if (auto type = optional_string(object, path, "type")) {
    if (const auto problem = unusable_name(*type); !problem.empty()) fail({path, "type"}, problem);
    location.type = *type;
  }
  if (const auto* properties = object.if_contains("properties");
      properties != nullptr && !properties->is_null()) {
    const auto* props = properties->if_object();
    if (props == nullptr) fail({path, "properties"}, "expected an object");
    location.properties = copy(*props);
  }
  return location;
}

bj::object encode(const DeploymentLocation& location) {
  bj::object out;
  out.reserve(3);
  out["name"] = location.name;
  out["type"] = location.type;
  out["properties"] = location.properties;
  return out;
}

bj::object encode(const FailureDetails& details) {
  bj::object out;
  out.reserve(2);
  out["failureCode"] = to_string(details.code);
  out["description"] = details.description;
  return out;
}

bj::object encode(const LifecycleExecution& execution) {
  bj::object out;
  out.reserve(6);
  out["requestId"] = execution.request_id;
  out["status"] = to_string(execution.status);
  if (execution.status == ExecutionStatus::failed) {
    // The invariant says failure_details is set; a hand-built execution that
    // breaks it still gets the field the contract requires.
    out["failureDetails"] = encode(execution.failure_details.value_or(FailureDetails{}));
  }
  out["outputs"] = execution.outputs;
  out["associatedTopology"] = encode(execution.associated_topology);
  out["version"] = kMessageVersion;
  return out;
}

LifecycleExecution decode_lifecycle_execution(const bj::value& value, std::string_view path) {
  const auto& object = expect_object(value, path);
  LifecycleExecution execution;
  execution.request_id = required_string(object, path, "requestId");
  const std::string_view status_text = required_string(object, path, "status");
  const auto status = parse_execution_status(status_text);
  if (!status) {
    fail({path, "status"},
         "expected one of IN_PROGRESS, COMPLETE, FAILED, got \"" + std::string(status_text) + "\"");
  }
  execution.status = *status;
  if (execution.status == ExecutionStatus::failed) {
    const auto* details = object.if_contains("failureDetails");
    if (details == nullptr || details->is_null()) fail({path, "failureDetails"}, "required");
    const auto* details_object = details->if_object();
    if (details_object == nullptr) fail({path, "failureDetails"}, "expected an object");
    const std::string details_path =
        path.empty() ? std::string("failureDetails") : std::string(path) + ".failureDetails";
    const std::string_view code_text =
        required_string(*details_object, details_path, "failureCode");
    const auto code = parse_failure_code(code_text);
    if (!code) {
      fail({details_path, "failureCode"},
           "unknown failure code \"" + std::string(code_text) + "\"");
    }
    FailureDetails failure{*code, {}};
    if (auto description = optional_string(*details_object, details_path, "description")) {
      failure.description = *description;
    }
    execution.failure_details = std::move(failure);
  }
  if (const auto* outputs = object.if_contains("outputs");
      outputs != nullptr && !outputs->is_null()) {
    const auto* outputs_object = outputs->if_object();
    if (outputs_object == nullptr) fail({path, "outputs"}, "expected an object");
    execution.outputs = copy(*outputs_object);
  }
  if (const auto* topology = object.if_contains("associatedTopology");
      topology != nullptr && !topology->is_null()) {
    const std::string topology_path = path.empty() ? std::string("associatedTopology")
                                                   : std::string(path) + ".associatedTopology";
    execution.associated_topology = decode_output_topology(*topology, topology_path);
  }
  return execution;
}

bj::object encode(const LifecycleExecuteResponse& response) {
  bj::object out;
  out.reserve(3);
  out["requestId"] = response.request_id;
  out["associatedTopology"] = encode(response.associated_topology);
  out["version"] = kMessageVersion;
  return out;
}

bj::object encode(const FindReferenceResponse& response) {
  bj::object out;
  if (!response.result) {
    out["result"] = nullptr;
    return out;
  }
  bj::object result;
  result.reserve(3);
  result["resourceId"] = response.result->resource_id;
  result["associatedTopology"] = encode(response.result->associated_topology);
  result["outputs"] = response.result->outputs;
  out["result"] = std::move(result);
  return out;
}

bj::object encode(const InfrastructureTask& task) {
  bj::object out;
  out.reserve(5);
  out["requestId"] = task.request_id;
  out["infrastructureId"] = task.infrastructure_id;
  out["status"] = to_string(task.status);
  if (task.status == ExecutionStatus::failed) {
    out["failureDetails"] = encode(task.failure_details.value_or(FailureDetails{}));
  }
  out["outputs"] = task.outputs;
  return out;
}

bj::object encode(const InfrastructureTaskAccepted& accepted) {
  bj::object out;
  out.reserve(2);
  out["infrastructureId"] = accepted.infrastructure_id;
  out["requestId"] = accepted.request_id;
  return out;
}

bj::object encode(const FindInfrastructureResponse& response) {
  bj::object out;
  if (!response.result) {
    out["result"] = nullptr;
    return out;
  }
  out["result"] = bj::object{{"infrastructureId", response.result->infrastructure_id},
                             {"outputs", response.result->outputs}};
  return out;
}

}  // namespace flint::sdk::json
