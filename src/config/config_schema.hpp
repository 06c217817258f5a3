#pragma once

/// @file
/// A declared set of configuration options, loaded from a YAML file and the
/// environment (the way userver components declare their config schema).

#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_values.hpp"
#include "config/environment.hpp"
#include "config/option_spec.hpp"

namespace flint::config {

/// The single source of truth for a program's options: loading, validation,
/// printing (`effective_yaml`) and the reference docs (`reference_markdown`).
///
/// Each option has a dotted key (`application.port`); the segments before the
/// last one are sections of the YAML file. Each key `a.b_c` is also set by the
/// environment variable `<prefix>A_B_C` (upper-case, dots become underscores).
///
/// Loading layers, later wins: schema defaults, then the YAML file (optional),
/// then environment variables; then every value is validated and the
/// cross-checks run. Every problem is collected and thrown at once as a
/// `ConfigError`.
///
/// Building the schema (`add`, `add_env_alias`...) is not thread-safe and
/// throws `std::logic_error` for a schema bug (duplicate key, two keys mapping
/// to one variable, a key that is both an option and a section, a default out
/// of range). A built schema is immutable and `load` may be called from any
/// thread.
class ConfigSchema {
 public:
  /// One declared option.
  struct Option {
    std::string key;       ///< dotted key, e.g. `application.port`
    std::string variable;  ///< its environment variable, e.g. `FLINT_APPLICATION_PORT`
    OptionSpec spec;       ///< type, default, bounds, description
  };

  /// A cross-field check, run after every option is valid. Appends one message
  /// per problem to `errors`, naming the keys involved.
  using Check = std::function<void(const ConfigValues& values, std::vector<std::string>& errors)>;

  /// @param env_prefix prefix of the variables that set options; every
  /// variable with this prefix must name an option (or be reserved).
  explicit ConfigSchema(std::string env_prefix = "FLINT_");

  /// Declares an option. Keys are lower-case `[a-z0-9_]` segments joined by dots.
  /// @throws std::logic_error on a schema bug (see the class comment).
  ConfigSchema& add(std::string key, OptionSpec spec);

  /// Lets `variable` (which must not carry the prefix, e.g. `LOG_LEVEL`) set
  /// `key` too. When both are set, the prefixed variable wins.
  /// @throws std::logic_error for an unknown key or a variable already in use.
  ConfigSchema& add_env_alias(std::string variable, std::string key);

  /// Names the variable giving the configuration file path when none is passed
  /// to `load` (e.g. `FLINT_CONFIG`); it is not an option. An empty value means
  /// unset.
  /// @throws std::logic_error if the variable is already in use.
  ConfigSchema& set_config_file_variable(std::string variable);

  /// Checks the value of a reserved variable; returns what is wrong with it,
  /// without the value, or nullopt when it is good.
  using ReservedCheck = std::function<std::optional<std::string>(std::string_view value)>;

  /// Declares a prefixed variable that is not an option but which the program
  /// reads itself (e.g. `FLINT_CLUSTER_KEY`, a secret): `load` accepts it
  /// instead of reporting it unknown and, when `check` is given, validates a
  /// non-empty value (an empty one means unset). Its value is never stored,
  /// printed or repeated in errors; `effective_yaml` only says it is set.
  /// @throws std::logic_error if the variable lacks the prefix or is in use.
  ConfigSchema& add_reserved_variable(std::string variable, ReservedCheck check = {});

  /// Adds a cross-field check.
  ConfigSchema& add_check(Check check);

  /// The options, in declaration order.
  const std::vector<Option>& options() const noexcept { return options_; }

  /// The option with this key, or nullptr.
  const Option* find(std::string_view key) const;

  /// The environment variable of a key: prefix + key upper-cased, dots -> `_`.
  std::string variable_for(std::string_view key) const;

  /// The file `load` would read: `file` if given (even empty, which `load`
  /// refuses), else the config file variable from `env` if set and not empty.
  std::optional<std::filesystem::path> resolve_file(
      const std::optional<std::filesystem::path>& file, const Environment& env) const;

  /// Loads defaults, then the file (see `resolve_file`, `read_config_file`),
  /// then `env`; validates.
  /// @throws ConfigError listing every problem: an empty path, a file that is
  /// missing, not a regular file, unreadable or larger than 1 MiB, a YAML
  /// syntax error (with line), a second YAML document (with the line where it
  /// starts), unknown keys (with a "did you mean"
  /// hint), a non-mapping where a section is expected, mistyped or
  /// out-of-range values, a key written twice (in a section or a string map),
  /// values an option's validator refuses, unknown prefixed variables,
  /// invalid reserved variables, failed cross-checks. Values that may hold
  /// secrets (see `OptionSpec::may_hold_secrets`) are never repeated.
  ConfigValues load(const std::optional<std::filesystem::path>& file, const Environment& env) const;

  /// As `load`, with the YAML given as text; `origin` names it in errors.
  ConfigValues load_text(std::string_view yaml, const Environment& env,
                         std::string_view origin = "<text>") const;

  /// The effective configuration as YAML that loads back to the same values:
  /// every option in declaration order with a trailing comment saying where
  /// the value came from (`# default`, `# file`, `# env FLINT_X`). Secret
  /// options, and map entries whose names look secret (`looks_secret`), are
  /// printed as `"****"`; reserved
  /// variables that are set are named in a comment, without their value.
  std::string effective_yaml(const ConfigValues& values) const;

  /// A Markdown table of every option: key, type and bounds, default,
  /// environment variables, description.
  std::string reference_markdown() const;

 private:
  struct LoadState;
  void load_document(const std::string& text, const std::string& origin, LoadState& state) const;
  void apply_environment(const Environment& env, LoadState& state) const;
  ConfigValues finish(LoadState& state) const;
  bool is_section(std::string_view key) const;
  std::string suggest_key(std::string_view unknown) const;

  std::string env_prefix_;
  std::vector<Option> options_;
  std::map<std::string, std::size_t, std::less<>> by_key_;
  std::map<std::string, std::size_t, std::less<>> by_variable_;
  std::map<std::string, std::size_t, std::less<>> aliases_;
  std::map<std::string, ReservedCheck, std::less<>> reserved_;
  std::optional<std::string> config_file_variable_;
  std::vector<Check> checks_;
};

}  // namespace flint::config
