#include "config/config_values.hpp"

#include <utility>

namespace flint::config {

std::string ValueSource::describe() const {
  switch (kind) {
    case Kind::default_value:
      return "default";
    case Kind::file:
      return "file";
    case Kind::environment:
      return line > 0 ? "file + env " + variable : "env " + variable;
  }
  return "unknown";
}

void ConfigValues::set(std::string key, ConfigValue value, ValueSource source) {
  entries_.insert_or_assign(std::move(key), Entry{std::move(value), std::move(source)});
}

const ConfigValues::Entry& ConfigValues::entry(std::string_view key) const {
  const auto it = entries_.find(key);
  if (it == entries_.end()) {
    throw std::out_of_range("configuration has no option '" + std::string(key) + "'");
  }
  return it->second;
}

}  // namespace flint::config
