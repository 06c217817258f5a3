#include "config/config_schema.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <utility>
#include <variant>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <flint/sdk/json.hpp>

#include "config/config_error.hpp"
#include "config/config_file.hpp"
#include "config/secret_name.hpp"
#include "config/text.hpp"
#include "config/units.hpp"
#include "config/yaml_scalar.hpp"

namespace flint::config {
namespace {

// How `effective_yaml` prints a secret.
constexpr std::string_view kMask = "****";

// `flint config` prints secrets as "****": its output loaded back as a
// configuration would take the mask for the password.
std::string mask_given(const std::string& key, const std::string& origin) {
  return key + ": \"****\" is how flint config prints a secret, not its value; give the value " +
         "itself (" + origin + ")";
}

bool valid_key(std::string_view key) {
  if (key.empty() || key.front() == '.' || key.back() == '.') return false;
  char previous = '\0';
  for (const char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
    if (!ok || (c == '.' && previous == '.')) return false;
    previous = c;
  }
  return true;
}

// Optimal string alignment distance: Levenshtein plus adjacent transpositions,
// the most common typo ("prot" for "port").
std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

// The closest candidate within a tolerance that grows with the length, or "".
std::string closest(std::string_view unknown, const std::vector<std::string>& candidates) {
  const auto wanted = lower(unknown);
  const std::size_t tolerance = std::clamp<std::size_t>(wanted.size() / 3, 1, 3);
  std::string best;
  std::size_t best_distance = tolerance + 1;
  for (const auto& candidate : candidates) {
    // The distance is at least the difference in length: skip the candidates
    // too long or too short to be within the tolerance, so that a long key
    // (up to the file's size) costs no more than a short one.
    const std::size_t gap = wanted.size() > candidate.size() ? wanted.size() - candidate.size()
                                                             : candidate.size() - wanted.size();
    if (gap >= best_distance) continue;
    const auto distance = edit_distance(wanted, lower(candidate));
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

std::string last_segment(std::string_view key) {
  const auto dot = key.rfind('.');
  return std::string(dot == std::string_view::npos ? key : key.substr(dot + 1));
}

std::string quote_text(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

// What a YAML node is, for "found ..." in messages; a scalar is quoted unless
// `hidden` says what to write instead.
std::string describe_node(const YAML::Node& node, std::string_view hidden = {}) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Scalar:
      return hidden.empty() ? quote_text(node.Scalar()) : std::string(hidden);
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

// What to write for a scalar of this option in an error: empty to quote it.
std::string_view hidden_scalar(const OptionSpec& spec) {
  if (spec.secret) return "an invalid value (not shown: the option is secret)";
  if (spec.may_hold_secrets()) return "a string (not shown: it may hold secrets)";
  return {};
}

// Records where each document starts (its `---`, or its first content).
class DocumentStarts : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;

  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// The 1-based line where a second YAML document starts in `text`, if any.
// A `---` after the content starts one, even with nothing after it.
// @throws YAML::ParserException for a syntax error in any document.
std::optional<int> second_document_line(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentStarts handler;
  if (!parser.HandleNextDocument(handler) || !parser.HandleNextDocument(handler)) {
    return std::nullopt;
  }
  return handler.starts.back().line + 1;
}

// `key` of a problem a validator found: the option's, its entry's
// (`key.entry`) or its item's (`key[i]`).
std::string problem_key(const std::string& key, const ValueProblem& problem) {
  if (problem.entry.empty()) return key;
  return key + (problem.entry.front() == '[' ? "" : ".") + problem.entry;
}

}  // namespace

struct ConfigSchema::LoadState {
  ConfigValues values;
  std::vector<std::string> errors;
};

ConfigSchema::ConfigSchema(std::string env_prefix) : env_prefix_(std::move(env_prefix)) {}

ConfigSchema& ConfigSchema::add(std::string key, OptionSpec spec) {
  if (!valid_key(key)) {
    throw std::logic_error("configuration schema: invalid key '" + key +
                           "' (lower-case [a-z0-9_] segments joined by dots)");
  }
  if (by_key_.count(key) != 0) {
    throw std::logic_error("configuration schema: key '" + key + "' declared twice");
  }
  // A key cannot be both a value and a section: `a: 1` and `a: {b: 2}` clash.
  for (const auto& option : options_) {
    if (option.key.rfind(key + ".", 0) == 0 || key.rfind(option.key + ".", 0) == 0) {
      throw std::logic_error("configuration schema: key '" + key + "' and key '" + option.key +
                             "' make one both a value and a section");
    }
  }
  auto variable = variable_for(key);
  if (const auto it = by_variable_.find(variable); it != by_variable_.end()) {
    throw std::logic_error("configuration schema: keys '" + options_[it->second].key + "' and '" +
                           key + "' both map to environment variable " + variable);
  }
  if (aliases_.count(variable) != 0 || reserved_.count(variable) != 0 ||
      config_file_variable_ == variable) {
    throw std::logic_error("configuration schema: environment variable " + variable + " of key '" +
                           key + "' is already in use");
  }
  if (spec.type == OptionType::enumeration) {
    if (spec.allowed.empty()) {
      throw std::logic_error("configuration schema: enum key '" + key + "' has no allowed values");
    }
    for (const auto& [alias, value] : spec.value_aliases) {
      if (std::find(spec.allowed.begin(), spec.allowed.end(), value) == spec.allowed.end()) {
        throw std::logic_error("configuration schema: key '" + key + "': alias '" + alias +
                               "' names '" + value + "', which is not an allowed value");
      }
    }
  }
  if (const auto problem = spec.check(spec.default_value)) {
    throw std::logic_error("configuration schema: default of key '" + key + "': " + *problem);
  }
  if (spec.validator) {
    for (const auto& problem : spec.validator(spec.default_value)) {
      throw std::logic_error("configuration schema: default of key '" + problem_key(key, problem) +
                             "': " + problem.message);
    }
  }
  by_key_.emplace(key, options_.size());
  by_variable_.emplace(variable, options_.size());
  options_.push_back(Option{std::move(key), std::move(variable), std::move(spec)});
  return *this;
}

ConfigSchema& ConfigSchema::add_env_alias(std::string variable, std::string key) {
  const auto it = by_key_.find(key);
  if (it == by_key_.end()) {
    throw std::logic_error("configuration schema: alias " + variable + " names unknown key '" +
                           key + "'");
  }
  if (variable.rfind(env_prefix_, 0) == 0 || by_variable_.count(variable) != 0 ||
      aliases_.count(variable) != 0 || config_file_variable_ == variable) {
    throw std::logic_error("configuration schema: alias " + variable +
                           " carries the prefix or is already in use");
  }
  aliases_.emplace(std::move(variable), it->second);
  return *this;
}

ConfigSchema& ConfigSchema::add_reserved_variable(std::string variable, ReservedCheck check) {
  if (variable.rfind(env_prefix_, 0) != 0 || by_variable_.count(variable) != 0 ||
      aliases_.count(variable) != 0 || reserved_.count(variable) != 0 ||
      config_file_variable_ == variable) {
    throw std::logic_error("configuration schema: reserved variable " + variable +
                           " lacks the prefix or is already in use");
  }
  reserved_.emplace(std::move(variable), std::move(check));
  return *this;
}

ConfigSchema& ConfigSchema::set_config_file_variable(std::string variable) {
  if (by_variable_.count(variable) != 0 || aliases_.count(variable) != 0 ||
      reserved_.count(variable) != 0) {
    throw std::logic_error("configuration schema: config file variable " + variable +
                           " is already in use");
  }
  config_file_variable_ = std::move(variable);
  return *this;
}

ConfigSchema& ConfigSchema::add_check(Check check) {
  checks_.push_back(std::move(check));
  return *this;
}

const ConfigSchema::Option* ConfigSchema::find(std::string_view key) const {
  const auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : &options_[it->second];
}

std::string ConfigSchema::variable_for(std::string_view key) const {
  std::string variable = env_prefix_;
  for (const char c : key) {
    variable += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return variable;
}

bool ConfigSchema::is_section(std::string_view key) const {
  const std::string prefix = std::string(key) + ".";
  const auto it = by_key_.lower_bound(prefix);
  return it != by_key_.end() && it->first.rfind(prefix, 0) == 0;
}

std::string ConfigSchema::suggest_key(std::string_view unknown) const {
  std::vector<std::string> candidates;
  std::set<std::string> sections;
  for (const auto& option : options_) {
    candidates.push_back(option.key);
    for (auto dot = option.key.find('.'); dot != std::string::npos;
         dot = option.key.find('.', dot + 1)) {
      sections.insert(option.key.substr(0, dot));
    }
  }
  candidates.insert(candidates.end(), sections.begin(), sections.end());
  auto best = closest(unknown, candidates);
  if (!best.empty()) return best;
  // The right name in the wrong section (`application.max_body_size`).
  const auto leaf = last_segment(unknown);
  std::string only;
  for (const auto& option : options_) {
    if (last_segment(option.key) != leaf) continue;
    if (!only.empty()) return {};  // ambiguous: no hint beats a wrong one
    only = option.key;
  }
  return only;
}

std::optional<std::filesystem::path> ConfigSchema::resolve_file(
    const std::optional<std::filesystem::path>& file, const Environment& env) const {
  if (file) return file;
  if (config_file_variable_) {
    const auto it = env.find(*config_file_variable_);
    if (it != env.end() && !it->second.empty()) return std::filesystem::path(it->second);
  }
  return std::nullopt;
}

ConfigValues ConfigSchema::load(const std::optional<std::filesystem::path>& file,
                                const Environment& env) const {
  LoadState state;
  for (const auto& option : options_) state.values.set(option.key, option.spec.default_value, {});
  if (const auto path = resolve_file(file, env)) {
    if (path->empty()) {
      // Given, but empty: not the same as no file, which would silently mean defaults.
      state.errors.push_back("configuration file: empty path");
    } else {
      state.values.set_file(*path);
      auto text = read_config_file(*path);
      if (auto* problem = std::get_if<ConfigFileProblem>(&text)) {
        state.errors.push_back(std::move(problem->message));
      } else {
        load_document(std::get<std::string>(text), path->string(), state);
      }
    }
  }
  apply_environment(env, state);
  return finish(state);
}

ConfigValues ConfigSchema::load_text(std::string_view yaml, const Environment& env,
                                     std::string_view origin) const {
  LoadState state;
  for (const auto& option : options_) state.values.set(option.key, option.spec.default_value, {});
  load_document(std::string(yaml), std::string(origin), state);
  apply_environment(env, state);
  return finish(state);
}

void ConfigSchema::load_document(const std::string& text, const std::string& origin,
                                 LoadState& state) const {
  YAML::Node root;
  std::optional<int> second_document;
  try {
    root = YAML::Load(text);
    second_document = second_document_line(text);
  } catch (const YAML::ParserException& e) {
    state.errors.push_back("configuration file '" + origin + "': YAML syntax error at line " +
                           std::to_string(e.mark.line + 1) + ", column " +
                           std::to_string(e.mark.column + 1) + ": " + e.msg);
    return;
  }
  if (second_document) {
    // YAML::Load reads the first document only: the rest would be ignored unchecked.
    state.errors.push_back("configuration file '" + origin +
                           "': a second YAML document starts at line " +
                           std::to_string(*second_document) +
                           "; a configuration file holds one document (remove the '---' and "
                           "merge the sections)");
    return;
  }
  auto where = [&](const YAML::Node& node) {
    return " (file " + origin + ", line " + std::to_string(node.Mark().line + 1) + ")";
  };
  auto error_at = [&](const std::string& key, const std::string& problem, const YAML::Node& node) {
    state.errors.push_back(key + ": " + problem + where(node));
  };

  // Reads one option's node; null lists and maps are empty (all entries
  // commented out), a null scalar is an error (write "" for an empty string).
  auto read_option = [&](const Option& option, const YAML::Node& key, const YAML::Node& node) {
    // A null value has no position of its own worth showing: point at its key.
    const YAML::Node& at = node.IsNull() ? key : node;
    const std::size_t errors_before = state.errors.size();
    const auto& spec = option.spec;
    // Of a map's entries and a list's items (`[i]`), for validator problems.
    std::map<std::string, YAML::Node> entry_lines;
    const auto expected = [&] {
      return "expected " + spec.expectation(false) + ", found " +
             describe_node(node, hidden_scalar(spec));
    };
    ConfigValue value;
    if (spec.type == OptionType::string_list) {
      std::vector<std::string> items;
      if (!node.IsNull()) {
        if (!node.IsSequence()) return error_at(option.key, expected(), at);
        for (std::size_t i = 0; i < node.size(); ++i) {
          if (!node[i].IsScalar()) {
            return error_at(
                option.key + "[" + std::to_string(i) + "]",
                "expected a string, found " + describe_node(node[i], hidden_scalar(spec)), node[i]);
          }
          items.push_back(node[i].Scalar());
          entry_lines["[" + std::to_string(i) + "]"] = node[i];
        }
      }
      value = std::move(items);
    } else if (spec.type == OptionType::string_map) {
      StringMap map;
      if (!node.IsNull()) {
        if (!node.IsMap()) return error_at(option.key, expected(), at);
        // Every bad entry is reported, not just the first.
        bool valid = true;
        for (const auto& entry : node) {
          const auto name = entry.first.IsScalar() ? entry.first.Scalar() : std::string("?");
          if (!entry.second.IsScalar()) {
            error_at(option.key + "." + name,
                     "expected a string, found " + describe_node(entry.second, hidden_scalar(spec)),
                     entry.second);
            valid = false;
          } else if (!map.emplace(name, entry.second.Scalar()).second) {
            // Last one wins would silently drop a setting; say which key, not its values.
            error_at(option.key, "duplicate key '" + name + "'", entry.first);
            valid = false;
          } else {
            entry_lines[name] = entry.first;
          }
        }
        if (!valid) return;
        // Checked before the validator, so that both are reported at once,
        // each with the entry's own line.
        for (const auto& [name, item] : map) {
          if (item == kMask && looks_secret(name)) {
            state.errors.push_back(mask_given(
                option.key + "." + name,
                "file " + origin + ", line " + std::to_string(entry_lines[name].Mark().line + 1)));
          }
        }
      }
      value = std::move(map);
    } else {
      if (!node.IsScalar()) return error_at(option.key, expected(), at);
      auto parsed = spec.parse(node.Scalar());
      if (auto* problem = std::get_if<std::string>(&parsed)) {
        return error_at(option.key, *problem, at);
      }
      value = std::move(std::get<ConfigValue>(parsed));
    }
    if (const auto problem = spec.check(value)) return error_at(option.key, *problem, at);
    if (spec.validator) {
      const auto problems = spec.validator(value);
      for (const auto& problem : problems) {
        const auto line = entry_lines.find(problem.entry);
        error_at(problem_key(option.key, problem), problem.message,
                 line == entry_lines.end() ? at : line->second);
      }
      if (!problems.empty()) return;
    }
    if (state.errors.size() > errors_before) return;  // a mask in a map
    state.values.set(option.key, std::move(value),
                     ValueSource{ValueSource::Kind::file, {}, key.Mark().line + 1});
  };

  std::function<void(const YAML::Node&, const std::string&)> walk = [&](const YAML::Node& map,
                                                                        const std::string& prefix) {
    std::set<std::string> seen;
    for (const auto& entry : map) {
      if (!entry.first.IsScalar()) {
        state.errors.push_back((prefix.empty() ? std::string("top level") : prefix) +
                               ": a key must be a plain name, found " + describe_node(entry.first) +
                               where(entry.first));
        continue;
      }
      const auto key = prefix.empty() ? entry.first.Scalar() : prefix + "." + entry.first.Scalar();
      if (!seen.insert(entry.first.Scalar()).second) {
        state.errors.push_back("duplicate key '" + sdk::json::printable(key) + "'" +
                               where(entry.first));
        continue;
      }
      if (const auto* option = find(key)) {
        read_option(*option, entry.first, entry.second);
      } else if (is_section(key)) {
        if (entry.second.IsMap()) {
          walk(entry.second, key);
        } else if (!entry.second.IsNull()) {
          error_at(key,
                   "expected a section (a mapping of keys), found " + describe_node(entry.second),
                   entry.second);
        }
      } else {
        // Cut: a key may be as long as the file.
        auto message = "unknown key '" + sdk::json::printable(key) + "'" + where(entry.first);
        if (const auto hint = suggest_key(key); !hint.empty()) {
          message += "; did you mean '" + hint + "'?";
        }
        state.errors.push_back(std::move(message));
      }
    }
  };

  if (root.IsNull()) return;  // an empty file sets nothing
  if (!root.IsMap()) {
    state.errors.push_back("configuration file '" + origin +
                           "': expected a mapping of sections at the top level, found " +
                           describe_node(root));
    return;
  }
  walk(root, "");
}

void ConfigSchema::apply_environment(const Environment& env, LoadState& state) const {
  auto apply = [&](const Option& option, const std::string& variable, const std::string& text) {
    const auto fail = [&](const std::string& problem) {
      state.errors.push_back(option.key + ": " + problem + " (env " + variable + ")");
    };
    auto parsed = option.spec.parse(text);
    if (auto* problem = std::get_if<std::string>(&parsed)) return fail(*problem);
    auto& value = std::get<ConfigValue>(parsed);
    if (const auto* entries = std::get_if<StringMap>(&value)) {
      bool masked = false;
      for (const auto& [name, item] : *entries) {
        if (item == kMask && looks_secret(name)) {
          state.errors.push_back(mask_given(option.key + "." + name, "env " + variable));
          masked = true;
        }
      }
      if (masked) return;
    }
    ValueSource source{ValueSource::Kind::environment, variable, 0};
    if (auto* entries = std::get_if<StringMap>(&value);
        entries && state.values.source(option.key).kind == ValueSource::Kind::file) {
      // Entries add to the file's map, key by key: a secret from the
      // environment must not silently drop the file's other settings.
      StringMap merged = state.values.get<StringMap>(option.key);
      for (auto& [name, entry] : *entries) merged.insert_or_assign(name, std::move(entry));
      *entries = std::move(merged);
      source.line = state.values.source(option.key).line;
    }
    if (const auto problem = option.spec.check(value)) return fail(*problem);
    if (option.spec.validator) {
      const auto problems = option.spec.validator(value);
      for (const auto& problem : problems) {
        state.errors.push_back(problem_key(option.key, problem) + ": " + problem.message +
                               " (env " + variable + ")");
      }
      if (!problems.empty()) return;
    }
    state.values.set(option.key, std::move(value), std::move(source));
  };

  for (const auto& [variable, text] : env) {
    if (const auto alias = aliases_.find(variable); alias != aliases_.end()) {
      const auto& option = options_[alias->second];
      // The prefixed variable wins; the alias is then not even parsed.
      if (env.count(option.variable) == 0) apply(option, variable, text);
      continue;
    }
    if (variable.rfind(env_prefix_, 0) != 0 || variable == config_file_variable_) continue;
    if (const auto it = by_variable_.find(variable); it != by_variable_.end()) {
      apply(options_[it->second], variable, text);
      continue;
    }
    if (const auto it = reserved_.find(variable); it != reserved_.end()) {
      if (text.empty()) continue;  // unset, as for the config file variable
      // The value is the program's business (and may be a secret): checked, never repeated.
      if (const auto problem = it->second ? it->second(text) : std::nullopt) {
        state.errors.push_back(variable + ": " + *problem);
      } else {
        state.values.add_reserved_variable(variable);
      }
      continue;
    }
    std::vector<std::string> known;
    for (const auto& [name, index] : by_variable_) known.push_back(name);
    for (const auto& [name, check] : reserved_) known.push_back(name);
    if (config_file_variable_) known.push_back(*config_file_variable_);
    auto message = "unknown environment variable " + variable + " (every " + env_prefix_ +
                   "* variable must name a configuration key)";
    if (const auto hint = closest(variable, known); !hint.empty()) {
      message += "; did you mean " + hint + "?";
    }
    state.errors.push_back(std::move(message));
  }
}

ConfigValues ConfigSchema::finish(LoadState& state) const {
  // A secret option given as the mask (the entries of maps are checked as
  // they are read, each with its own line).
  for (const auto& option : options_) {
    const auto& entry = state.values.entries().at(option.key);
    if (const auto* text = std::get_if<std::string>(&entry.value);
        option.spec.secret && text != nullptr && *text == kMask) {
      std::string origin = entry.source.describe();
      if (entry.source.kind == ValueSource::Kind::file) {
        if (state.values.file()) origin += " " + state.values.file()->string();
        if (entry.source.line > 0) origin += ", line " + std::to_string(entry.source.line);
      }
      state.errors.push_back(mask_given(option.key, origin));
    }
  }
  // Cross-checks only make sense once every value is valid; the operator fixes
  // the per-key errors first.
  if (state.errors.empty()) {
    for (const auto& check : checks_) check(state.values, state.errors);
  }
  if (!state.errors.empty()) throw ConfigError(std::move(state.errors));
  return std::move(state.values);
}

std::string ConfigSchema::effective_yaml(const ConfigValues& values) const {
  // Group options into nested sections, each in order of first declaration.
  struct Node {
    std::string name;
    const Option* option = nullptr;
    std::vector<Node> children;
  };
  Node root;
  for (const auto& option : options_) {
    Node* at = &root;
    std::size_t start = 0;
    while (true) {
      const auto dot = option.key.find('.', start);
      const auto name = option.key.substr(start, dot - start);
      auto it = std::find_if(at->children.begin(), at->children.end(),
                             [&](const Node& child) { return child.name == name; });
      if (it == at->children.end()) {
        at->children.push_back(Node{name, nullptr, {}});
        it = std::prev(at->children.end());
      }
      at = &*it;
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    at->option = &option;
  }

  std::ostringstream out;
  if (values.file()) {
    out << "# Effective configuration (file: " << values.file()->string() << ")\n";
  } else {
    out << "# Effective configuration (no configuration file)\n";
  }
  for (const auto& variable : values.reserved_variables()) {
    out << "# " << variable << " is set (value not shown)\n";
  }
  static const std::string redacted = "\"" + std::string(kMask) + "\"";
  std::function<void(const Node&, int)> emit = [&](const Node& node, int depth) {
    const std::string indent(static_cast<std::size_t>(depth) * 2, ' ');
    for (const auto& child : node.children) {
      if (child.option == nullptr) {
        out << indent << child.name << ":\n";
        emit(child, depth + 1);
        continue;
      }
      const auto& spec = child.option->spec;
      const auto& entry = values.entries().at(child.option->key);
      const auto comment = "  # " + entry.source.describe() + "\n";
      const auto* map = std::get_if<StringMap>(&entry.value);
      const auto* text = std::get_if<std::string>(&entry.value);
      if (spec.secret && text != nullptr && text->empty()) {
        // Unset: nothing to hide, and "****" would not load back.
        out << indent << child.name << ": \"\"" << comment;
      } else if (spec.secret) {
        out << indent << child.name << ": " << redacted << comment;
      } else if (map != nullptr && !map->empty()) {
        out << indent << child.name << ":" << comment;
        for (const auto& [name, item] : *map) {
          out << indent << "  " << yaml_scalar(name) << ": "
              << (looks_secret(name) ? redacted : yaml_scalar(item)) << "\n";
        }
      } else {
        out << indent << child.name << ": " << spec.format(entry.value) << comment;
      }
    }
  };
  emit(root, 0);
  return out.str();
}

std::string ConfigSchema::reference_markdown() const {
  auto type_text = [](const OptionSpec& spec) {
    std::string text(to_string(spec.type));
    std::string bounds;
    switch (spec.type) {
      case OptionType::integer: {
        const auto& [min, max] = spec.integer_range;
        if (min && max) {
          bounds = std::to_string(*min) + "..." + std::to_string(*max);
        } else if (min) {
          bounds = ">= " + std::to_string(*min);
        } else if (max) {
          bounds = "<= " + std::to_string(*max);
        }
        break;
      }
      case OptionType::duration: {
        const auto& [min, max] = spec.duration_range;
        if (min) bounds = ">= " + format_duration(*min);
        if (max) bounds += std::string(bounds.empty() ? "" : ", ") + "<= " + format_duration(*max);
        break;
      }
      case OptionType::size: {
        const auto& [min, max] = spec.size_range;
        if (min) bounds = ">= " + format_size(*min);
        if (max) bounds += std::string(bounds.empty() ? "" : ", ") + "<= " + format_size(*max);
        break;
      }
      case OptionType::enumeration:
        for (const auto& value : spec.allowed) {
          bounds += std::string(bounds.empty() ? "" : " \\| ") + "`" + value + "`";
        }
        break;
      default:
        break;
    }
    if (!bounds.empty()) text += " (" + bounds + ")";
    if (spec.secret) text += ", secret";
    return text;
  };

  std::ostringstream out;
  out << "| Key | Type | Default | Environment | Description |\n";
  out << "|---|---|---|---|---|\n";
  for (const auto& option : options_) {
    std::string variables = "`" + option.variable + "`";
    for (const auto& [alias, index] : aliases_) {
      if (&options_[index] == &option) variables += ", `" + alias + "`";
    }
    auto default_text =
        option.spec.secret ? std::string("****") : option.spec.format(option.spec.default_value);
    std::string escaped;
    for (const char c : default_text) {
      if (c == '|') escaped += '\\';
      escaped += c;
    }
    out << "| `" << option.key << "` | " << type_text(option.spec) << " | `" << escaped << "` | "
        << variables << " | " << option.spec.description << " |\n";
  }
  return out.str();
}

}  // namespace flint::config
