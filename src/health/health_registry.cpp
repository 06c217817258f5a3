#include "health/health_registry.hpp"

#include <charconv>
#include <exception>

#include <boost/json/serialize.hpp>
#include <boost/json/string_view.hpp>
#include <boost/json/value.hpp>

namespace flint::health {
namespace {

// Appends `text` as a JSON string. Names, keys and most values need no
// escaping and are copied as they are; Boost.JSON escapes the rest.
void append_string(std::string& out, std::string_view text) {
  bool plain = true;  // no early exit: the loop stays branch-free
  for (const char c : text) {
    plain &= c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20;
  }
  if (!plain) {
    out += boost::json::serialize(boost::json::string_view(text.data(), text.size()));
    return;
  }
  const std::size_t at = out.size();
  out.resize(at + text.size() + 2);
  out[at] = '"';
  text.copy(out.data() + at + 1, text.size());
  out.back() = '"';
}

template <typename Number>
void append_number(std::string& out, Number value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

}  // namespace

std::string_view to_string(HealthStatus status) noexcept {
  switch (status) {
    case HealthStatus::ok:
      return "OK";
    case HealthStatus::degraded:
      return "DEGRADED";
    case HealthStatus::unhealthy:
      break;
  }
  return "UNHEALTHY";
}

void HealthDetails::begin(std::string_view key) {
  out_ += ',';
  append_string(out_, key);
  out_ += ':';
}

void HealthDetails::set(std::string_view key, std::string_view value) {
  begin(key);
  append_string(out_, value);
}

void HealthDetails::set(std::string_view key, bool value) {
  begin(key);
  out_ += value ? "true" : "false";
}

void HealthDetails::set_number(std::string_view key, long long value) {
  begin(key);
  append_number(out_, value);
}

void HealthDetails::set_number(std::string_view key, unsigned long long value) {
  begin(key);
  append_number(out_, value);
}

void HealthDetails::set(std::string_view key, const boost::json::value& value) {
  begin(key);
  out_ += boost::json::serialize(value);
}

void HealthRegistry::add(std::string name, Check check) {
  checks_.emplace_back(std::move(name), std::move(check));
}

HealthStatus HealthRegistry::run(const Check& check, std::string& details) {
  details.clear();
  HealthDetails writer(details);
  try {
    return check(writer);
  } catch (const std::exception& e) {
    details.clear();  // what it wrote may include an "error" of its own
    writer.set("error", e.what());
    return HealthStatus::unhealthy;
  }
}

std::vector<std::pair<std::string, HealthStatus>> HealthRegistry::statuses() const {
  std::vector<std::pair<std::string, HealthStatus>> found;
  std::string details;  // written, not read
  for (const auto& [name, check] : checks_) found.emplace_back(name, run(check, details));
  return found;
}

HealthRegistry::Report HealthRegistry::report() const {
  Report report;
  std::string& out = report.body;
  out.reserve(256 + 128 * checks_.size());
  out = R"({"vitals":{)";
  // A component's status comes first in its entry but is known only after its
  // check, which writes its details here meanwhile.
  std::string details;
  details.reserve(512);
  for (const auto& [name, check] : checks_) {
    const HealthStatus status = run(check, details);
    if (status == HealthStatus::unhealthy) report.healthy = false;
    if (out.back() != '{') out += ',';
    append_string(out, name);
    out += R"(:{"status":")";
    out += to_string(status);
    out += '"';
    out += details;
    out += '}';
  }
  out += "}}";
  return report;
}

}  // namespace flint::health
