#pragma once

/// @file
/// The working directory of one script execution: the files that make its
/// state durable, so that a new host process can learn the outcome.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace flint::drivers::script {

/// Names of the files in an execution's working directory (see README.md).
namespace work_files {
/// The request document, also the script's stdin (mode 0600: it holds keys).
inline constexpr std::string_view kRequest = "request.json";
/// Written by the script: outputs, topology, failure code.
inline constexpr std::string_view kResult = "result.json";
/// Captured standard output.
inline constexpr std::string_view kStdout = "stdout.log";
/// Captured standard error.
inline constexpr std::string_view kStderr = "stderr.log";
/// `{"lifecycleName", "timeoutMs"}`, written when the execution is accepted.
inline constexpr std::string_view kExecution = "execution.json";
/// `{"pgid", "deadlineUnixMs"}`, written once the process runs.
inline constexpr std::string_view kProcess = "process.json";
/// The command's exit code, written (by rename) by the supervisor shell.
inline constexpr std::string_view kExitStatus = "exit_status";
/// Present once the driver killed the process group for its timeout.
inline constexpr std::string_view kTimedOut = "timed_out";
/// Why the process could not be started.
inline constexpr std::string_view kSpawnError = "spawn_error";
}  // namespace work_files

/// File operations on one working directory. Holds only a path: cheap to
/// copy; thread-safe as far as the file system is (every write is a rename
/// of a complete temporary file, so readers never see half a file).
class ExecutionDirectory {
 public:
  /// The directory at `path` (absolute).
  explicit ExecutionDirectory(std::filesystem::path path) : path_(std::move(path)) {}

  /// The directory's path.
  const std::filesystem::path& path() const noexcept { return path_; }
  /// Path of file `name` in it.
  std::filesystem::path file(std::string_view name) const { return path_ / name; }

  /// Creates the directory with mode 0700.
  /// @throws std::system_error, also when it already exists.
  void create() const;
  /// True when the directory exists.
  bool exists() const;
  /// Writes `content` to `name` atomically (temporary file, fsync, rename)
  /// with mode 0600.
  /// @throws std::system_error naming the file.
  void write(std::string_view name, std::string_view content) const;
  /// Content of `name`, or nullopt when it does not exist or cannot be read.
  std::optional<std::string> read(std::string_view name) const;
  /// The last `max_bytes` of `name` (all of it when smaller); empty when
  /// missing. Bounded so that a chatty script cannot exhaust memory.
  std::string read_tail(std::string_view name, std::size_t max_bytes) const;
  /// True when `name` exists.
  bool has(std::string_view name) const;
  /// Removes the directory and everything in it; errors are ignored.
  void remove() const noexcept;

 private:
  std::filesystem::path path_;
};

}  // namespace flint::drivers::script
