#pragma once

/// @file
/// Reading the configuration file: a regular file, read whole, of bounded size.

#include <cstdint>
#include <filesystem>
#include <string>
#include <variant>

#include "config/units.hpp"

namespace flint::config {

/// The largest configuration file read: every input of Flint has a limit, and
/// a real configuration is a few kilobytes.
inline constexpr std::uint64_t kMaxConfigFileSize = MiB;

/// Why a configuration file could not be read: one line naming the file and
/// the reason (the OS's, for a system call that failed).
struct ConfigFileProblem {
  std::string message;  ///< e.g. `configuration file '/x' does not exist`
};

/// Reads the whole configuration file at `path`, following symbolic links.
/// Refuses (without blocking, and before reading anything) what is not a
/// regular file: a directory, a FIFO, a device, a socket. A read error is a
/// problem, never a shorter text; so is a file larger than `max_size` bytes.
/// Thread-safe.
/// @returns the text, or the problem.
std::variant<std::string, ConfigFileProblem> read_config_file(
    const std::filesystem::path& path, std::uint64_t max_size = kMaxConfigFileSize);

}  // namespace flint::config
