#pragma once

/// @file
/// The check of an integer option's value, as its text.

#include <charconv>
#include <cstdint>
#include <string>
#include <system_error>
#include <utility>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace flint::cli {

/// Accepts an integer from `min` to `max`, refusing anything else with
/// `expected an integer from MIN to MAX, got TEXT`. Checked as text, before
/// CLI11 converts it: CLI11 would read -1 into an unsigned option as
/// 2^64 - 1, and calls a word "not in range".
inline CLI::Validator integer_from(std::int64_t min, std::int64_t max, std::string name = "N") {
  return CLI::Validator(
      [min, max](const std::string& text) -> std::string {
        std::int64_t value = 0;
        const char* end = text.data() + text.size();
        const auto [stop, error] = std::from_chars(text.data(), end, value);
        if (error != std::errc() || stop != end || value < min || value > max) {
          return fmt::format("expected an integer from {} to {}, got {}", min, max, text);
        }
        return {};
      },
      std::move(name));
}

}  // namespace flint::cli
