#include "config/option_spec.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>

#include <yaml-cpp/yaml.h>

#include "config/text.hpp"
#include "config/units.hpp"
#include "config/yaml_scalar.hpp"

namespace flint::config {
namespace {

// Quotes a found value for an error message, so blanks and empty text show.
std::string quote_text(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

OptionSpec make(OptionType type, ConfigValue default_value, std::string description) {
  OptionSpec spec;
  spec.type = type;
  spec.default_value = std::move(default_value);
  spec.description = std::move(description);
  return spec;
}

std::optional<std::int64_t> parse_integer(std::string_view text) {
  text = trim(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  std::int64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end) return std::nullopt;
  return value;
}

std::optional<bool> parse_boolean(std::string_view text) {
  const auto word = lower(trim(text));
  if (word == "true" || word == "yes" || word == "on") return true;
  if (word == "false" || word == "no" || word == "off") return false;
  return std::nullopt;
}

// Environment form of a list: a YAML flow sequence, or comma-separated.
std::optional<std::vector<std::string>> parse_list(std::string_view text) {
  const auto body = trim(text);
  std::vector<std::string> items;
  if (!body.empty() && body.front() == '[') {
    try {
      const auto node = YAML::Load(std::string(body));
      if (!node.IsSequence()) return std::nullopt;
      for (const auto& item : node) {
        if (!item.IsScalar()) return std::nullopt;
        items.push_back(item.Scalar());
      }
    } catch (const YAML::Exception&) {
      return std::nullopt;
    }
    return items;
  }
  std::size_t start = 0;
  while (start <= body.size() && !body.empty()) {
    const auto comma = body.find(',', start);
    const auto item = trim(body.substr(start, comma - start));
    if (!item.empty()) items.emplace_back(item);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return items;
}

// Environment form of a map: a YAML flow mapping, or `k=v,k2=v2`. Returns
// the map or what is wrong with it, naming entries by key or position, never
// by value: any entry may be a secret (and a password with a comma in it
// splits into two entries, its tail without '=').
std::variant<StringMap, std::string> parse_map(std::string_view text) {
  const auto body = trim(text);
  const std::string shape = "expected a mapping of names to strings (k=v,k2=v2 or {k: v}), found ";
  StringMap map;
  std::vector<std::string> duplicates;
  const auto add = [&](std::string name, std::string value) {
    if (map.emplace(name, std::move(value)).second) return;
    if (std::find(duplicates.begin(), duplicates.end(), name) == duplicates.end()) {
      duplicates.push_back(std::move(name));
    }
  };
  if (!body.empty() && body.front() == '{') {
    YAML::Node node;
    try {
      node = YAML::Load(std::string(body));
    } catch (const YAML::Exception&) {
      return shape + "text starting with '{' that is not a YAML flow mapping";
    }
    if (!node.IsMap()) return shape + "text starting with '{' that is not a YAML flow mapping";
    for (const auto& entry : node) {
      if (!entry.first.IsScalar()) return shape + "a key that is not a plain name";
      if (!entry.second.IsScalar()) {
        return shape + "entry '" + entry.first.Scalar() + "' whose value is not a string";
      }
      add(entry.first.Scalar(), entry.second.Scalar());
    }
  } else {
    std::vector<std::string_view> items;
    std::size_t start = 0;
    while (!body.empty() && start <= body.size()) {
      const auto comma = body.find(',', start);
      const auto item = trim(body.substr(start, comma - start));
      if (!item.empty()) items.push_back(item);
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
      const auto eq = items[i].find('=');
      const auto position =
          "entry " + std::to_string(i + 1) + " of " + std::to_string(items.size());
      if (eq == std::string_view::npos) return shape + position + " without '='";
      const auto name = trim(items[i].substr(0, eq));
      if (name.empty()) return shape + position + " with an empty name";
      add(std::string(name), std::string(trim(items[i].substr(eq + 1))));
    }
  }
  if (!duplicates.empty()) {
    std::string names;
    for (const auto& name : duplicates) names += (names.empty() ? "'" : ", '") + name + "'";
    return (duplicates.size() == 1 ? "duplicate key " : "duplicate keys ") + names;
  }
  return map;
}

// Examples of a value in `range`: a message must not offer as an example what
// it refuses (`512` when the minimum is 1KiB). When no stock example fits, the
// bounds themselves are the examples.
template <class T>
std::vector<std::string> examples_within(const std::vector<std::pair<T, std::string>>& stock,
                                         const std::optional<T>& min, const std::optional<T>& max,
                                         std::string (*format)(T)) {
  std::vector<std::string> out;
  for (const auto& [value, text] : stock) {
    if ((!min || value >= *min) && (!max || value <= *max)) out.push_back(text);
  }
  if (out.empty()) {
    if (min) out.push_back(format(*min));
    if (max && max != min) out.push_back(format(*max));
  }
  return out;
}

std::string duration_examples(const DurationRange& range) {
  using std::chrono::milliseconds;
  static const std::vector<std::pair<milliseconds, std::string>> stock = {
      {milliseconds(250), "250ms"},
      {milliseconds(30'000), "30s"},
      {milliseconds(5 * 60'000), "5m"},
      {milliseconds(60 * 60'000), "1h"}};
  std::string text;
  for (const auto& example : examples_within(
           stock, range.min, range.max,
           +[](milliseconds value) { return format_duration(value); })) {
    text += (text.empty() ? "" : ", ") + example;
  }
  return text;
}

std::string size_examples(const SizeRange& range) {
  static const std::vector<std::pair<std::uint64_t, std::string>> stock = {
      {512, "512"},
      {16 * KiB, "16KiB"},
      {64 * MiB, "64MiB"},
      {GiB, "1GiB"},
      {std::uint64_t{10'000'000}, "10MB"}};
  const auto examples = examples_within(
      stock, range.min, range.max, +[](std::uint64_t value) { return format_size(value); });
  std::string text;
  for (std::size_t i = 0; i < examples.size(); ++i) {
    if (i != 0) text += i + 1 == examples.size() ? " or " : ", ";
    text += examples[i];
  }
  return text;
}

using ParseResult = std::variant<ConfigValue, std::string>;

// Builds the value in place: going through a ConfigValue temporary makes GCC 12
// report a false -Wmaybe-uninitialized inside std::variant.
template <class T>
ParseResult parsed_value(T&& value) {
  return ParseResult(std::in_place_index<0>, std::forward<T>(value));
}

}  // namespace

std::string_view to_string(OptionType type) noexcept {
  switch (type) {
    case OptionType::boolean:
      return "boolean";
    case OptionType::integer:
      return "integer";
    case OptionType::string:
      return "string";
    case OptionType::enumeration:
      return "enum";
    case OptionType::duration:
      return "duration";
    case OptionType::size:
      return "size";
    case OptionType::string_list:
      return "string list";
    case OptionType::string_map:
      return "string map";
  }
  return "unknown";
}

OptionSpec OptionSpec::boolean(bool default_value, std::string description) {
  return make(OptionType::boolean, default_value, std::move(description));
}

OptionSpec OptionSpec::integer(std::int64_t default_value, std::string description,
                               IntegerRange range) {
  auto spec = make(OptionType::integer, default_value, std::move(description));
  spec.integer_range = range;
  return spec;
}

OptionSpec OptionSpec::string(std::string default_value, std::string description) {
  return make(OptionType::string, std::move(default_value), std::move(description));
}

OptionSpec OptionSpec::enumeration(std::string default_value, std::vector<std::string> allowed,
                                   std::string description) {
  auto spec = make(OptionType::enumeration, std::move(default_value), std::move(description));
  spec.allowed = std::move(allowed);
  return spec;
}

OptionSpec OptionSpec::duration(std::chrono::milliseconds default_value, std::string description,
                                DurationRange range) {
  auto spec = make(OptionType::duration, default_value, std::move(description));
  spec.duration_range = range;
  return spec;
}

OptionSpec OptionSpec::size(std::uint64_t default_value, std::string description, SizeRange range) {
  auto spec = make(OptionType::size, default_value, std::move(description));
  spec.size_range = range;
  return spec;
}

OptionSpec OptionSpec::string_list(std::vector<std::string> default_value,
                                   std::string description) {
  return make(OptionType::string_list, std::move(default_value), std::move(description));
}

OptionSpec OptionSpec::string_map(StringMap default_value, std::string description) {
  return make(OptionType::string_map, std::move(default_value), std::move(description));
}

OptionSpec&& OptionSpec::as_secret() && {
  secret = true;
  return std::move(*this);
}

OptionSpec&& OptionSpec::with_value_aliases(
    std::vector<std::pair<std::string, std::string>> aliases) && {
  value_aliases = std::move(aliases);
  return std::move(*this);
}

OptionSpec&& OptionSpec::with_validator(Validator check) && {
  validator = std::move(check);
  return std::move(*this);
}

std::string OptionSpec::expectation(bool state_bounds) const {
  switch (type) {
    case OptionType::boolean:
      return "a boolean (true or false)";
    case OptionType::integer: {
      const auto& [min, max] = integer_range;
      if (!state_bounds) return "an integer";
      if (min && max) {
        return "an integer between " + std::to_string(*min) + " and " + std::to_string(*max);
      }
      if (min) return "an integer >= " + std::to_string(*min);
      if (max) return "an integer <= " + std::to_string(*max);
      return "an integer";
    }
    case OptionType::string:
      return "a string";
    case OptionType::enumeration: {
      std::string text = "one of: ";
      for (std::size_t i = 0; i < allowed.size(); ++i) {
        if (i != 0) text += ", ";
        text += allowed[i];
      }
      return text;
    }
    case OptionType::duration: {
      std::string text = "a duration such as " + duration_examples(duration_range) +
                         " (a bare number means seconds)";
      if (!state_bounds) return text;
      const auto& [min, max] = duration_range;
      if (min && max) {
        text += " between " + format_duration(*min) + " and " + format_duration(*max);
      } else if (min) {
        text += " of at least " + format_duration(*min);
      } else if (max) {
        text += " of at most " + format_duration(*max);
      }
      return text;
    }
    case OptionType::size: {
      std::string text = "a size such as " + size_examples(size_range);
      if (!state_bounds) return text;
      const auto& [min, max] = size_range;
      if (min && max) {
        text += " between " + format_size(*min) + " and " + format_size(*max);
      } else if (min) {
        text += " of at least " + format_size(*min);
      } else if (max) {
        text += " of at most " + format_size(*max);
      }
      return text;
    }
    case OptionType::string_list:
      return "a list of strings";
    case OptionType::string_map:
      return "a mapping of names to strings";
  }
  return "a value";
}

std::variant<ConfigValue, std::string> OptionSpec::parse(std::string_view text) const {
  auto mistyped = [&]() -> std::string {
    // The bounds are reported by check(); here say only the shape expected.
    return "expected " + expectation(false) + ", found " +
           (secret ? std::string("an invalid value (not shown: the option is secret)")
                   : quote_text(text));
  };
  switch (type) {
    case OptionType::boolean:
      if (const auto value = parse_boolean(text)) return parsed_value(*value);
      return mistyped();
    case OptionType::integer:
      if (const auto value = parse_integer(text)) return parsed_value(*value);
      return mistyped();
    case OptionType::string:
      return parsed_value(std::string(text));
    case OptionType::enumeration: {
      const auto word = lower(trim(text));
      for (const auto& value : allowed) {
        if (lower(value) == word) return parsed_value(value);
      }
      for (const auto& [alias, value] : value_aliases) {
        if (lower(alias) == word) return parsed_value(value);
      }
      return mistyped();
    }
    case OptionType::duration:
      if (const auto value = parse_duration(text)) return parsed_value(*value);
      return mistyped();
    case OptionType::size:
      if (const auto value = parse_size(text)) return parsed_value(*value);
      return mistyped();
    case OptionType::string_list:
      if (auto value = parse_list(text)) return parsed_value(std::move(*value));
      return mistyped();
    case OptionType::string_map: {
      auto value = parse_map(text);
      if (auto* map = std::get_if<StringMap>(&value)) return parsed_value(std::move(*map));
      return std::get<std::string>(std::move(value));
    }
  }
  return mistyped();
}

std::optional<std::string> OptionSpec::check(const ConfigValue& value) const {
  auto out_of_range = [&](const std::string& shown) {
    return (secret ? std::string("the value") : shown) + " is out of range: expected " +
           expectation();
  };
  switch (type) {
    case OptionType::integer: {
      const auto* number = std::get_if<std::int64_t>(&value);
      if (number == nullptr) return "expected " + expectation();
      if ((integer_range.min && *number < *integer_range.min) ||
          (integer_range.max && *number > *integer_range.max)) {
        return out_of_range(std::to_string(*number));
      }
      return std::nullopt;
    }
    case OptionType::duration: {
      const auto* ms = std::get_if<std::chrono::milliseconds>(&value);
      if (ms == nullptr) return "expected " + expectation();
      if ((duration_range.min && *ms < *duration_range.min) ||
          (duration_range.max && *ms > *duration_range.max)) {
        return out_of_range(format_duration(*ms));
      }
      if (*ms > kMaxDuration) {
        return "expected a duration of at most " + format_duration(kMaxDuration) +
               " (10 years), got " + format_duration(*ms);
      }
      return std::nullopt;
    }
    case OptionType::size: {
      const auto* bytes = std::get_if<std::uint64_t>(&value);
      if (bytes == nullptr) return "expected " + expectation();
      if ((size_range.min && *bytes < *size_range.min) ||
          (size_range.max && *bytes > *size_range.max)) {
        return out_of_range(format_size(*bytes));
      }
      return std::nullopt;
    }
    case OptionType::enumeration: {
      const auto* text = std::get_if<std::string>(&value);
      if (text == nullptr || std::find(allowed.begin(), allowed.end(), *text) == allowed.end()) {
        return "expected " + expectation();
      }
      return std::nullopt;
    }
    case OptionType::boolean:
      if (!std::holds_alternative<bool>(value)) return "expected " + expectation();
      return std::nullopt;
    case OptionType::string:
      if (!std::holds_alternative<std::string>(value)) return "expected " + expectation();
      return std::nullopt;
    case OptionType::string_list:
      if (!std::holds_alternative<std::vector<std::string>>(value)) {
        return "expected " + expectation();
      }
      return std::nullopt;
    case OptionType::string_map:
      if (!std::holds_alternative<StringMap>(value)) return "expected " + expectation();
      return std::nullopt;
  }
  return std::nullopt;
}

std::string OptionSpec::format(const ConfigValue& value) const {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          return std::to_string(v);
        } else if constexpr (std::is_same_v<T, std::string>) {
          return yaml_scalar(v);
        } else if constexpr (std::is_same_v<T, std::chrono::milliseconds>) {
          return format_duration(v);
        } else if constexpr (std::is_same_v<T, std::uint64_t>) {
          return format_size(v);
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          YAML::Emitter out;
          out << YAML::Flow << YAML::BeginSeq;
          for (const auto& item : v) emit_scalar(out, item);
          out << YAML::EndSeq;
          return out.c_str();
        } else {
          YAML::Emitter out;
          out << YAML::Flow << YAML::BeginMap;
          for (const auto& [name, item] : v) {
            out << YAML::Key;
            emit_scalar(out, name);
            out << YAML::Value;
            emit_scalar(out, item);
          }
          out << YAML::EndMap;
          return out.c_str();
        }
      },
      value);
}

}  // namespace flint::config
