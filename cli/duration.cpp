#include "duration.hpp"

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <stdexcept>

namespace flint::cli {

std::chrono::milliseconds parse_duration(std::string_view text, std::string_view option) {
  const auto bad = [&](std::string_view why) {
    return std::invalid_argument(std::string(option) + ": \"" + std::string(text) +
                                 "\": " + std::string(why));
  };
  constexpr std::int64_t kMaxMs = 30LL * 24 * 3600 * 1000;
  if (text.empty()) throw bad("expected a duration such as 90s, 10m or 1h30m");
  std::int64_t total = 0;
  std::string_view rest = text;
  bool first = true;
  while (!rest.empty()) {
    std::int64_t number = 0;
    auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), number);
    if (error != std::errc() || end == rest.data() || number < 0) {
      throw bad("expected a duration such as 90s, 10m or 1h30m");
    }
    if (number > kMaxMs) throw bad("more than 30 days");
    rest.remove_prefix(static_cast<std::size_t>(end - rest.data()));
    std::int64_t unit_ms = 0;
    if (rest.empty()) {
      if (!first) throw bad("a unit (ms, s, m, h) is missing");
      unit_ms = 1000;  // a bare number is seconds
    } else if (rest.starts_with("ms")) {
      unit_ms = 1, rest.remove_prefix(2);
    } else if (rest.front() == 's') {
      unit_ms = 1000, rest.remove_prefix(1);
    } else if (rest.front() == 'm') {
      unit_ms = 60'000, rest.remove_prefix(1);
    } else if (rest.front() == 'h') {
      unit_ms = 3'600'000, rest.remove_prefix(1);
    } else if (rest.front() == '.' || rest.front() == ',') {
      throw bad("expected a whole number with its unit (1500ms, not 1.5s)");
    } else {
      throw bad("unknown unit (expected ms, s, m or h)");
    }
    first = false;
    total += number * unit_ms;
    if (total > kMaxMs) throw bad("more than 30 days");
  }
  if (total == 0) throw bad("must be greater than zero");
  return std::chrono::milliseconds(total);
}

std::string format_elapsed(std::chrono::milliseconds elapsed) {
  const std::int64_t ms = elapsed.count() < 0 ? 0 : elapsed.count();
  char buffer[32];
  if (ms < 1000) {
    std::snprintf(buffer, sizeof buffer, "%lldms", static_cast<long long>(ms));
  } else if (ms < 60'000) {
    std::snprintf(buffer, sizeof buffer, "%lld.%llds", static_cast<long long>(ms / 1000),
                  static_cast<long long>(ms % 1000 / 100));
  } else if (ms < 3'600'000) {
    std::snprintf(buffer, sizeof buffer, "%lldm%02llds", static_cast<long long>(ms / 60'000),
                  static_cast<long long>(ms % 60'000 / 1000));
  } else {
    std::snprintf(buffer, sizeof buffer, "%lldh%02lldm", static_cast<long long>(ms / 3'600'000),
                  static_cast<long long>(ms % 3'600'000 / 60'000));
  }
  return buffer;
}

}  // namespace flint::cli
