#pragma once

/// @file
/// The loaded values of a schema, each with where it came from.

#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "config/option_spec.hpp"

namespace flint::config {

/// Where a value came from.
struct ValueSource {
  /// The layer that set the value; later layers win.
  enum class Kind {
    default_value,  ///< the schema default
    file,           ///< the configuration file
    environment,    ///< an environment variable
  };
  Kind kind = Kind::default_value;  ///< the layer
  std::string variable;             ///< the environment variable, for `environment`
  /// 1-based line in the file, for `file`; for `environment`, set when a
  /// string map's entries were added to the file's map at that line.
  int line = 0;

  /// `default`, `file` or `env FLINT_X`, as in `effective_yaml()` comments.
  std::string describe() const;
};

/// Every option of a schema with its value and source. Produced by
/// `ConfigSchema::load`; immutable afterwards, so safe to read from any thread.
class ConfigValues {
 public:
  /// One loaded option.
  struct Entry {
    ConfigValue value;   ///< validated value
    ValueSource source;  ///< where it came from
  };

  /// Sets (or replaces) the value of `key`. Used by the loader.
  void set(std::string key, ConfigValue value, ValueSource source);

  /// The value of `key`.
  /// @throws std::out_of_range naming the key if the schema has no such option.
  const ConfigValue& value(std::string_view key) const { return entry(key).value; }

  /// Where the value of `key` came from.
  /// @throws std::out_of_range naming the key if the schema has no such option.
  const ValueSource& source(std::string_view key) const { return entry(key).source; }

  /// The value of `key` as `T` (the alternative of its `OptionType`).
  /// @throws std::out_of_range for an unknown key, std::bad_variant_access for
  /// the wrong `T`.
  template <class T>
  const T& get(std::string_view key) const {
    return std::get<T>(value(key));
  }

  /// The configuration file that was read, if any.
  const std::optional<std::filesystem::path>& file() const noexcept { return file_; }
  /// Records the file that was read. Used by the loader.
  void set_file(std::filesystem::path file) { file_ = std::move(file); }

  /// Records that a reserved variable (see
  /// `ConfigSchema::add_reserved_variable`) is set; its value is not kept.
  /// Used by the loader.
  void add_reserved_variable(std::string variable) {
    reserved_variables_.push_back(std::move(variable));
  }
  /// The reserved variables that are set, in name order.
  const std::vector<std::string>& reserved_variables() const noexcept {
    return reserved_variables_;
  }

  /// All entries by key.
  const std::map<std::string, Entry, std::less<>>& entries() const noexcept { return entries_; }

 private:
  const Entry& entry(std::string_view key) const;

  std::map<std::string, Entry, std::less<>> entries_;
  std::optional<std::filesystem::path> file_;
  std::vector<std::string> reserved_variables_;
};

}  // namespace flint::config
