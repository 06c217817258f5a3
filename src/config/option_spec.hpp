#pragma once

/// @file
/// The declaration of one configuration option: its type, default, limits and
/// description.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace flint::config {

/// The kinds of value an option can hold.
enum class OptionType {
  boolean,      ///< `true`/`false` (also yes/no, on/off), held as `bool`
  integer,      ///< a decimal integer, held as `std::int64_t`
  string,       ///< any scalar, held as `std::string`
  enumeration,  ///< one of a fixed set of strings, held as `std::string`
  duration,     ///< `250ms`, `30s`, `5m`, `1h`, bare = seconds; `std::chrono::milliseconds`
  size,         ///< `512`, `16KiB`, `64MiB`, `1GiB`, `1MB`; bytes as `std::uint64_t`
  string_list,  ///< a sequence of scalars, held as `std::vector<std::string>`
  string_map,   ///< a free-form mapping of scalars, held as `StringMap`
};

/// Short name of a type, as shown in the docs (`integer`, `duration`...).
std::string_view to_string(OptionType type) noexcept;

/// A free-form map of names to strings (e.g. pass-through client settings).
using StringMap = std::map<std::string, std::string>;

/// The value of an option; the alternative in use follows `OptionType`
/// (see each enumerator). Enumerations hold their canonical spelling.
using ConfigValue = std::variant<bool, std::int64_t, std::string, std::chrono::milliseconds,
                                 std::uint64_t, std::vector<std::string>, StringMap>;

/// Inclusive bounds of an integer option; absent means unbounded.
struct IntegerRange {
  std::optional<std::int64_t> min = std::nullopt;  ///< smallest accepted value
  std::optional<std::int64_t> max = std::nullopt;  ///< largest accepted value
};

/// The longest duration any option takes: a deadline is `now` plus the
/// value on a clock counting nanoseconds, which a value near 292 years
/// overflows (into the past: every deadline would have passed at once).
inline constexpr std::chrono::milliseconds kMaxDuration{std::chrono::hours(24 * 365 * 10)};

/// Inclusive bounds of a duration option; absent means unbounded (up to
/// `kMaxDuration`).
struct DurationRange {
  std::optional<std::chrono::milliseconds> min = std::nullopt;  ///< shortest accepted value
  std::optional<std::chrono::milliseconds> max = std::nullopt;  ///< longest accepted value
};

/// Inclusive bounds of a size option, in bytes; absent means unbounded.
struct SizeRange {
  std::optional<std::uint64_t> min = std::nullopt;  ///< smallest accepted value
  std::optional<std::uint64_t> max = std::nullopt;  ///< largest accepted value
};

/// One problem a `Validator` finds in a value of the right type and bounds.
struct ValueProblem {
  /// The map entry concerned (e.g. `acks`), or `[i]` for item i (from 0) of a
  /// list; empty for the whole value.
  std::string entry;
  std::string message;  ///< what is wrong, without the key; never a secret's value
};

/// Checks a value beyond its type and bounds (e.g. against the library it is
/// passed to). Returns one problem per defect, empty when the value is good.
using Validator = std::function<std::vector<ValueProblem>(const ConfigValue& value)>;

/// The declaration of one option (everything but its key, which the schema
/// assigns). A plain value: copyable, no shared state.
///
/// Build one with the named constructors, e.g.
/// `OptionSpec::integer(8290, "TCP port", {.min = 0, .max = 65535})`; the
/// schema checks the declaration (default in range, allowed values) when the
/// option is added and throws `std::logic_error` on a bad one.
struct OptionSpec {
  OptionType type = OptionType::string;  ///< kind of value
  ConfigValue default_value;             ///< used when neither file nor environment sets it
  std::string description;               ///< one line, shown in docs and `--help`-like output
  bool secret = false;                   ///< printed as `****`, never echoed in errors
  IntegerRange integer_range;            ///< bounds, for `integer` only
  DurationRange duration_range;          ///< bounds, for `duration` only
  SizeRange size_range;                  ///< bounds, for `size` only
  std::vector<std::string> allowed;      ///< canonical values, for `enumeration` only
  /// Other accepted spellings of enumeration values (e.g. `warning` -> `warn`).
  std::vector<std::pair<std::string, std::string>> value_aliases;
  /// Optional further checks, run on values that pass `check` (and on the
  /// default when the option is declared).
  Validator validator;

  /// A boolean option.
  static OptionSpec boolean(bool default_value, std::string description);
  /// An integer option with optional inclusive bounds.
  static OptionSpec integer(std::int64_t default_value, std::string description,
                            IntegerRange range = {});
  /// A string option; any YAML scalar is accepted as its text.
  static OptionSpec string(std::string default_value, std::string description);
  /// A string restricted to `allowed` (matched case-insensitively, stored in
  /// the spelling given here).
  static OptionSpec enumeration(std::string default_value, std::vector<std::string> allowed,
                                std::string description);
  /// A duration option with optional inclusive bounds.
  static OptionSpec duration(std::chrono::milliseconds default_value, std::string description,
                             DurationRange range = {});
  /// A size option (bytes) with optional inclusive bounds.
  static OptionSpec size(std::uint64_t default_value, std::string description,
                         SizeRange range = {});
  /// A list of strings. From the environment: `a,b,c` or a YAML flow list `[a, b]`.
  static OptionSpec string_list(std::vector<std::string> default_value, std::string description);
  /// A free-form map. From the environment: `k=v,k2=v2` or a YAML flow map `{k: v}`.
  static OptionSpec string_map(StringMap default_value, std::string description);

  /// Marks the option secret: its value is printed as `****` and never echoed.
  OptionSpec&& as_secret() &&;
  /// Adds accepted alternative spellings for enumeration values.
  OptionSpec&& with_value_aliases(std::vector<std::pair<std::string, std::string>> aliases) &&;
  /// Adds further checks of the value (see `validator`).
  OptionSpec&& with_validator(Validator check) &&;

  /// Whether a value may hold a secret, so that errors must not quote it: a
  /// secret option, or a string map (its entries are free-form and those with
  /// secret-looking names are redacted by `effective_yaml`).
  bool may_hold_secrets() const noexcept { return secret || type == OptionType::string_map; }

  /// What a valid value looks like, for error messages and docs, e.g.
  /// "an integer between 0 and 65535" or "one of: flat, logstash". Examples
  /// of durations and sizes always lie within the bounds; `state_bounds`
  /// false leaves the bounds themselves out (for a value of the wrong shape).
  std::string expectation(bool state_bounds = true) const;

  /// Parses the text of a scalar (from YAML or the environment) into a value of
  /// this option's type. For lists and maps, the text is the environment form.
  /// @returns the value, or an error message without the key (e.g.
  /// `expected an integer, found "abc"`); the found text is omitted when the
  /// value may hold secrets (`may_hold_secrets`). A map naming one key twice
  /// is an error naming the key.
  std::variant<ConfigValue, std::string> parse(std::string_view text) const;

  /// Checks a parsed value against the bounds / allowed values.
  /// @returns an error message without the key, or nullopt when valid.
  std::optional<std::string> check(const ConfigValue& value) const;

  /// Renders a value for humans and YAML: durations and sizes with units, lists
  /// as `[a, b]`, maps as `{k: v}`. Ignores `secret` (callers redact).
  std::string format(const ConfigValue& value) const;
};

}  // namespace flint::config
