#include "config/units.hpp"

#include <array>
#include <charconv>
#include <limits>
#include <utility>

#include "config/text.hpp"

namespace flint::config {
namespace {

// Splits "30s" into 30 and "s". Signs are refused: no negative durations or
// sizes, and "+5" is more likely a typo than intent.
std::optional<std::pair<std::uint64_t, std::string_view>> split_number(std::string_view text) {
  text = trim(text);
  if (text.empty() || text.front() < '0' || text.front() > '9') return std::nullopt;
  std::uint64_t number = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, number);
  if (ec != std::errc{}) return std::nullopt;
  std::string_view unit(ptr, static_cast<std::size_t>(end - ptr));
  if (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  return std::pair{number, unit};
}

std::optional<std::uint64_t> checked_multiply(std::uint64_t value, std::uint64_t factor,
                                              std::uint64_t limit) {
  if (factor != 0 && value > limit / factor) return std::nullopt;
  return value * factor;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  const auto split = split_number(text);
  if (!split) return std::nullopt;
  const auto [number, unit] = *split;
  std::uint64_t factor = 0;
  if (unit.empty() || unit == "s") {
    factor = 1000;
  } else if (unit == "ms") {
    factor = 1;
  } else if (unit == "m") {
    factor = 60 * 1000;
  } else if (unit == "h") {
    factor = 60 * 60 * 1000;
  } else {
    return std::nullopt;
  }
  constexpr auto limit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  const auto millis = checked_multiply(number, factor, limit);
  if (!millis) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(*millis));
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  const auto split = split_number(text);
  if (!split) return std::nullopt;
  const auto [number, unit] = *split;
  static constexpr std::array<std::pair<std::string_view, std::uint64_t>, 10> units{{
      {"", 1},
      {"B", 1},
      {"KiB", KiB},
      {"MiB", MiB},
      {"GiB", GiB},
      {"TiB", 1024 * GiB},
      {"KB", 1000},
      {"MB", 1000 * 1000},
      {"GB", 1000 * 1000 * 1000},
      {"TB", std::uint64_t{1000} * 1000 * 1000 * 1000},
  }};
  for (const auto& [name, factor] : units) {
    if (unit == name) {
      return checked_multiply(number, factor, std::numeric_limits<std::uint64_t>::max());
    }
  }
  return std::nullopt;
}

std::string format_duration(std::chrono::milliseconds value) {
  const auto ms = value.count();
  if (ms == 0) return "0ms";
  if (ms % (60 * 60 * 1000) == 0) return std::to_string(ms / (60 * 60 * 1000)) + "h";
  if (ms % (60 * 1000) == 0) return std::to_string(ms / (60 * 1000)) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string format_size(std::uint64_t bytes) {
  if (bytes == 0) return "0";
  static constexpr std::array<std::pair<std::string_view, std::uint64_t>, 4> units{{
      {"TiB", 1024 * GiB},
      {"GiB", GiB},
      {"MiB", MiB},
      {"KiB", KiB},
  }};
  for (const auto& [name, factor] : units) {
    if (bytes % factor == 0) return std::to_string(bytes / factor) + std::string(name);
  }
  return std::to_string(bytes);
}

}  // namespace flint::config
