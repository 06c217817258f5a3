#pragma once

/// @file
/// The disk figures a vital reports for a directory Flint writes to.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace flint::health {

/// Free space and usability (a directory the process may write and enter)
/// of a directory, and the size of some of its files, read at most once a
/// second: health is polled often (probes, load balancers) and must stay
/// cheap. Thread-safe.
class DiskCheck {
 public:
  /// What one read found.
  struct Space {
    /// A directory the process may write and enter, on a file system that
    /// answers; the other figures are 0 when false.
    bool writable = false;
    /// Free bytes for unprivileged users.
    std::uint64_t free_bytes = 0;
    /// Size of the file system.
    std::uint64_t total_bytes = 0;
    /// Free inodes; none on file systems without a fixed count.
    std::optional<std::uint64_t> free_inodes;
    /// The size of the files named at construction (a missing one counts 0).
    std::uint64_t files_bytes = 0;

    /// Writing there will soon fail: less than 100 MiB free, or less than a
    /// tenth of a file system smaller than 1 GiB.
    bool low() const noexcept;
  };

  /// Checks `dir`, and sizes `files` (names relative to it).
  explicit DiskCheck(std::filesystem::path dir, std::vector<std::string> files = {});

  /// The directory, as given.
  const std::filesystem::path& path() const noexcept { return dir_; }

  /// The figures, read again when the last read is a second old.
  Space read();

 private:
  std::filesystem::path dir_;
  std::vector<std::string> files_;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point read_at_{};
  Space last_;
};

}  // namespace flint::health
