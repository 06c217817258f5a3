#pragma once

/// @file
/// A child process started in its own process group, watched through a pidfd.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace flint::drivers::script {

/// How to start a child process. Nothing here is ever parsed by a shell: the
/// argument vector goes to `posix_spawn` as is.
struct SpawnSpec {
  /// Program and arguments; `argv[0]` must be an absolute path (no PATH
  /// search is done here).
  std::vector<std::string> argv;
  /// The complete environment, as `NAME=value` strings (nothing is inherited).
  std::vector<std::string> environment;
  /// Working directory of the child.
  std::filesystem::path working_directory;
  /// File opened read-only as standard input.
  std::filesystem::path stdin_file;
  /// When >= 0, a descriptor of the host given as standard input instead of
  /// `stdin_file` (the host keeps its own copy).
  int stdin_fd = -1;
  /// File created (mode 0600, truncated) for standard output.
  std::filesystem::path stdout_file;
  /// File created (mode 0600, truncated) for standard error.
  std::filesystem::path stderr_file;
};

/// A child process that leads a new process group (its pgid is its pid).
///
/// The child gets default signal dispositions, an empty signal mask and no
/// file descriptor above 2, whatever the host had. Owning the object means
/// owning a pidfd on the child: the destructor closes it but neither kills nor
/// reaps the child, so a process can outlive its driver (see README.md).
/// Move-only; not thread-safe (one thread uses an instance at a time).
class ChildProcess {
 public:
  /// Starts the child.
  /// @throws std::system_error when the files cannot be opened or the
  ///         program cannot be started (the message names what failed).
  static ChildProcess spawn(const SpawnSpec& spec);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  /// Process id of the child, which is also its process group id.
  pid_t pid() const noexcept { return pid_; }
  /// A descriptor that polls readable once the child has exited, or -1 when
  /// the child was already gone when the pidfd was to be opened.
  int pidfd() const noexcept { return pidfd_; }

  /// True once the child has exited (it may still be a zombie).
  bool has_exited() const noexcept;
  /// Waits until the child exits or `deadline` passes; true when it exited.
  bool wait_until(std::chrono::steady_clock::time_point deadline) const noexcept;
  /// Sends `signal` to the child's whole process group. Safe to call while the
  /// child is a zombie (its pid, hence the group id, cannot be reused yet).
  void signal_group(int signal) const noexcept;
  /// Reaps the child (blocking until it exits) and returns its wait status,
  /// or nullopt when someone else reaped it. Call at most once.
  std::optional<int> reap() noexcept;

 private:
  ChildProcess(pid_t pid, int pidfd) noexcept : pid_(pid), pidfd_(pidfd) {}

  pid_t pid_ = -1;
  int pidfd_ = -1;
  bool reaped_ = false;
  mutable bool lost_ = false;  // reaped by someone else: never signal it again
};

/// True when a process group `pgid` exists (some member is alive or a
/// zombie). Note that group ids are recycled once every member is gone.
bool process_group_exists(pid_t pgid) noexcept;

/// Sends `signal` to every process of group `pgid`; errors are ignored.
void signal_process_group(pid_t pgid, int signal) noexcept;

}  // namespace flint::drivers::script
