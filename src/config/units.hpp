#pragma once

/// @file
/// Durations and sizes as people write them in configuration: `250ms`, `30s`,
/// `16KiB`, `1GiB`.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace flint::config {

/// One kibibyte; sizes in the schema are written as `16 * KiB`.
inline constexpr std::uint64_t KiB = 1024;
/// One mebibyte.
inline constexpr std::uint64_t MiB = 1024 * KiB;
/// One gibibyte.
inline constexpr std::uint64_t GiB = 1024 * MiB;

/// Parses a duration: a non-negative integer followed by `ms`, `s`, `m` or `h`,
/// or a bare integer meaning seconds (`250ms`, `30s`, `5m`, `1h`, `30`).
/// Surrounding blanks and one blank between number and unit are allowed.
/// @returns nullopt when the text is not such a duration or overflows.
/// Pure function, thread-safe.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// Parses a size in bytes: a non-negative integer, optionally followed by a
/// unit: `B`, `KiB`, `MiB`, `GiB`, `TiB` (powers of 1024) or `KB`, `MB`, `GB`,
/// `TB` (powers of 1000). Units are case-sensitive (`kb` is ambiguous).
/// @returns nullopt when the text is not such a size or overflows 64 bits.
/// Pure function, thread-safe.
std::optional<std::uint64_t> parse_size(std::string_view text);

/// Formats a duration in the largest unit that divides it exactly (`1h`, `5m`,
/// `30s`, `250ms`; zero is `0ms`). The result parses back to the same value.
std::string format_duration(std::chrono::milliseconds value);

/// Formats a size in the largest binary unit that divides it exactly
/// (`16KiB`, `64MiB`), else as a bare byte count. Parses back to the same value.
std::string format_size(std::uint64_t bytes);

}  // namespace flint::config
