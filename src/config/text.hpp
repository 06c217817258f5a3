#pragma once

/// @file
/// Small text helpers shared by the configuration loader.

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace flint::config {

/// ASCII lower-case copy of `text` (keys, enum values and units are ASCII).
inline std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

/// `text` without leading and trailing blanks (spaces, tabs, line breaks).
inline std::string_view trim(std::string_view text) {
  constexpr std::string_view blanks = " \t\r\n";
  const auto first = text.find_first_not_of(blanks);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(blanks);
  return text.substr(first, last - first + 1);
}

}  // namespace flint::config
