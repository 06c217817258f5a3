#pragma once

/// @file
/// Durations on the command line (`--timeout 10m`).

#include <chrono>
#include <string>
#include <string_view>

namespace flint::cli {

/// Parses a duration: one or more `<integer><unit>` parts with units `ms`,
/// `s`, `m`, `h` (`90s`, `10m`, `1h30m`, `500ms`), or a bare integer of
/// seconds. `option` names the option in messages.
/// @throws std::invalid_argument naming `option` for anything else, for zero,
///   or for more than 30 days.
std::chrono::milliseconds parse_duration(std::string_view text, std::string_view option);

/// Formats an elapsed time for people: `850ms`, `12.3s`, `4m05s`, `1h02m`.
std::string format_elapsed(std::chrono::milliseconds elapsed);

}  // namespace flint::cli
