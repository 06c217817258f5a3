#pragma once

/// @file
/// The system calls of the `netns` driver: `ip` (iproute2) commands and
/// existence probes. An interface, so that tests can inject failures.

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace flint::drivers::netns {

/// Outcome of one `ip` command.
struct CommandResult {
  /// Exit status (0 = success); -1 when it could not run or was killed.
  int exit_code = -1;
  /// True when it was killed after the timeout.
  bool timed_out = false;
  /// Its standard error, trimmed and capped at 2 KiB.
  std::string error_output;

  /// True for a zero exit status.
  bool ok() const noexcept { return exit_code == 0 && !timed_out; }
};

/// Where the driver's `ip` commands and probes go.
///
/// Implementations must be safe to call from several threads at once.
class Kernel {
 public:
  virtual ~Kernel() = default;

  /// Runs `ip <args...>` and waits for it (bounded by a timeout).
  virtual CommandResult ip(const std::vector<std::string>& args) = 0;
  /// True when a named network namespace exists (`ip netns list`).
  virtual bool namespace_exists(const std::string& name) = 0;
  /// True when a network interface of that name exists in the driver's own
  /// namespace.
  virtual bool link_exists(const std::string& name) = 0;
};

/// `ip a b c`, for messages.
std::string describe_command(const std::vector<std::string>& args);

/// The `ip` binary: the first of /usr/sbin/ip, /sbin/ip, /usr/bin/ip, /bin/ip.
std::optional<std::filesystem::path> find_ip_binary();

/// The real system: runs `ip` as a child process (no shell) with `timeout`,
/// capturing its output in files of `scratch_dir` (which must exist). When
/// there is no `ip` binary every command fails with a message saying so.
std::shared_ptr<Kernel> make_system_kernel(std::filesystem::path scratch_dir,
                                           std::chrono::milliseconds timeout);

}  // namespace flint::drivers::netns
