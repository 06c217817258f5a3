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

}  // namespace flint::config
