#include <flint/sdk/driver_plugin.hpp>

#include <charconv>
#include <stdexcept>

namespace flint::sdk {

std::string_view to_string(DriverKind kind) noexcept {
  switch (kind) {
    case DriverKind::resource:
      return "resource";
    case DriverKind::infrastructure:
      return "infrastructure";
    case DriverKind::storage:
      return "storage";
    case DriverKind::amphora:
      return "amphora";
    case DriverKind::handler:
      return "handler";
  }
  return "unknown";
}

bool is_valid_driver_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 64) return false;
  const auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_or_digit(name.front())) return false;
  for (const char c : name) {
    if (!lower_or_digit(c) && c != '_' && c != '-') return false;
  }
  return true;
}

DriverSettings::DriverSettings(std::string driver,
                               std::map<std::string, std::string, std::less<>> values)
    : driver_(std::move(driver)), values_(std::move(values)) {}

std::string DriverSettings::key_of(std::string_view name) const {
  return "drivers.settings." + driver_ + "." + std::string(name);
}

std::optional<std::string_view> DriverSettings::find(std::string_view name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return std::string_view(it->second);
}

const std::string& DriverSettings::text(std::string_view name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) throw std::out_of_range(key_of(name) + ": not set and no default");
  return it->second;
}

namespace {

std::int64_t parse_integer(std::string_view text, const std::string& key, const char* what) {
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    throw std::invalid_argument(key + ": expected " + what + ", found '" + std::string(text) +
                                "'");
  }
  return value;
}

}  // namespace

std::int64_t DriverSettings::integer(std::string_view name) const {
  return parse_integer(text(name), key_of(name), "an integer");
}

bool DriverSettings::boolean(std::string_view name) const {
  const std::string& value = text(name);
  if (value == "true") return true;
  if (value == "false") return false;
  throw std::invalid_argument(key_of(name) + ": expected true or false, found '" + value + "'");
}

std::chrono::milliseconds DriverSettings::duration(std::string_view name) const {
  return std::chrono::milliseconds(
      parse_integer(text(name), key_of(name), "a duration in milliseconds"));
}

}  // namespace flint::sdk
