#pragma once

/// @file
/// The data directory one Flint process owns (`store.data_dir`).

#include <filesystem>
#include <system_error>

namespace flint::store {

/// Creates `path` (and its parents) owner-only (0700) when absent; one that
/// exists keeps the mode its operator gave it.
/// @returns the error, or an empty code when the directory is there.
std::error_code create_private_directory(const std::filesystem::path& path);

/// The data directory of this process: created owner-only (0700) when
/// absent, and locked (`flint.lock`, an exclusive `flock`) for the life of
/// the object. A second process pointed at the same directory then refuses
/// to start, instead of resuming, and so taking over, the executions the
/// first one is monitoring. The lock goes with the process, however it ends
/// (kill -9 included), and is not inherited by the programs it starts.
class DataDirectory {
 public:
  /// @throws std::runtime_error naming the key and the directory when it
  ///         cannot be created or locked, or another process holds it (with
  ///         that process's id).
  explicit DataDirectory(std::filesystem::path path);
  ~DataDirectory();
  DataDirectory(const DataDirectory&) = delete;
  DataDirectory& operator=(const DataDirectory&) = delete;

  /// The directory.
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
  int lock_fd_ = -1;
};

}  // namespace flint::store
