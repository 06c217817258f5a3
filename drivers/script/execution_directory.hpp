#pragma once

/// @file
/// The working directory of one script execution: the files that make its
/// state durable, so that a new host process can learn the outcome.

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

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
/// `{"pgid", "deadlineUnixMs", "deadlineBootMs", "bootId"}`, written once the process runs.
inline constexpr std::string_view kProcess = "process.json";
/// The command's exit code, written (by rename) by the supervisor shell.
inline constexpr std::string_view kExitStatus = "exit_status";
/// Present once the driver killed the process group for its timeout.
inline constexpr std::string_view kTimedOut = "timed_out";
/// Why the process could not be started.
inline constexpr std::string_view kSpawnError = "spawn_error";
}  // namespace work_files

/// What `ExecutionDirectory::read_regular` found.
struct FileContent {
  /// How the read went.
  enum class Status {
    ok,           ///< `content` holds the whole file
    missing,      ///< no such file
    not_regular,  ///< a FIFO, directory, device, symbolic link...: never opened for reading
    too_large,    ///< larger than the limit given
    unreadable,   ///< another error (`error` says which)
  };
  /// How the read went.
  Status status = Status::missing;
  /// The file's content when `status` is `ok`.
  std::string content;
  /// The system error for `unreadable`.
  std::error_code error;
};

/// A file of a working directory that exists, or may, but cannot be read now
/// (out of descriptors, an I/O error, a permission): its content is unknown,
/// not absent, so nothing may be concluded from it. `what()` names the file
/// and the system error (`cannot read <path>: Too many open files`).
class UnreadableFileError : public std::system_error {
 public:
  /// `error` is the system's reason for `file`.
  UnreadableFileError(std::error_code error, const std::filesystem::path& file)
      : std::system_error(error, "cannot read " + file.string()) {}
};

/// Files read from a working directory are opened without following a
/// symbolic link and without blocking (a script may leave a FIFO, a link to
/// a device or a directory in place of any file), and only regular files are
/// read. This bounds what `read` takes in.
inline constexpr std::size_t kMaxReadBytes = std::size_t{1} << 20;  // 1 MiB

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

  /// Creates the directory with mode 0700, durably (its parent is synced).
  /// @throws std::system_error, also when it already exists.
  void create() const;
  /// True when the directory exists.
  bool exists() const;
  /// Writes `content` to `name` atomically and durably (temporary file,
  /// fsync, rename, fsync of the directory) with mode 0600.
  /// @throws std::system_error naming the file.
  void write(std::string_view name, std::string_view content) const;
  /// Content of `name` when it is a regular file of at most `max_bytes`;
  /// otherwise says why not. Never blocks and never follows a symbolic link.
  FileContent read_regular(std::string_view name, std::size_t max_bytes = kMaxReadBytes) const;
  /// Content of `name`, or nullopt when it does not exist, is not a regular
  /// file or is larger than `kMaxReadBytes`.
  /// @throws UnreadableFileError when it cannot be read now.
  std::optional<std::string> read(std::string_view name) const;
  /// The last `max_bytes` of `name` (all of it when smaller); empty when
  /// missing or not a regular file. Bounded so that a chatty script cannot
  /// exhaust memory. When given, `skipped` is called, in order and in
  /// pieces, with everything before the tail (for callers that must know
  /// what the tail starts in); it must not throw.
  /// @throws UnreadableFileError when it cannot be opened now.
  std::string read_tail(std::string_view name, std::size_t max_bytes,
                        const std::function<void(std::string_view)>& skipped = {}) const;
  /// True when `name` exists.
  bool has(std::string_view name) const;
  /// Removes the directory and everything in it, giving each directory in it
  /// back its owner's permissions first (a script may leave read-only ones,
  /// e.g. from an archive). A missing directory is not an error.
  /// @returns the error, or an empty code when nothing is left.
  std::error_code remove() const noexcept;
  /// Gives the directory back its owner's read, write and search permission
  /// when a script took them away: it is the host's, and holds the files the
  /// host reads and writes. Best effort; cheap when nothing changed.
  void reclaim() const noexcept;

 private:
  std::filesystem::path path_;
};

}  // namespace flint::drivers::script
