#pragma once

/// @file
/// The data directory one Flint process owns (`store.data_dir`).

#include <filesystem>
#include <string_view>
#include <system_error>

namespace flint::store {

/// A directory Flint keeps state or code in, private to its user: created
/// as `files::create_private_directory` does, and refused when it exists and lets
/// group or others write to it, or belongs to a user other than root and
/// this process's (they could swap what Flint keeps or runs there).
/// @throws std::runtime_error naming `key` (the setting), the path and the problem.
void prepare_private_directory(const std::filesystem::path& path, std::string_view key);

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
