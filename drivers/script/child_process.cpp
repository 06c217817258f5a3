#include "script/child_process.hpp"

#include <cerrno>
#include <system_error>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace flint::drivers::script {
namespace {

[[noreturn]] void throw_errno(int error, const std::string& what) {
  throw std::system_error(error, std::generic_category(), what);
}

// RAII for the posix_spawn helper structures.
struct SpawnAttributes {
  posix_spawnattr_t attr{};
  posix_spawn_file_actions_t actions{};
  SpawnAttributes() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnAttributes() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
};

void check(int result, const std::string& what) {
  if (result != 0) throw_errno(result, what);
}

}  // namespace

ChildProcess ChildProcess::spawn(const SpawnSpec& spec) {
  if (spec.argv.empty() || spec.argv.front().empty() || spec.argv.front().front() != '/') {
    throw std::system_error(EINVAL, std::generic_category(),
                            "spawn: argv[0] must be an absolute path");
  }
  SpawnAttributes s;
  // A new group led by the child, so that a timeout can kill every process
  // the script started; clean signal state, since host threads may block or
  // ignore signals (SIGPIPE) that a script expects to work.
  sigset_t empty;
  sigemptyset(&empty);
  sigset_t all_defaults;
  sigfillset(&all_defaults);
  sigdelset(&all_defaults, SIGKILL);
  sigdelset(&all_defaults, SIGSTOP);
  // The normal scheduling class: host driver threads run in the batch class
  // (see logging::set_batch_scheduling), which a child would inherit.
  const sched_param normal_priority{};
  check(posix_spawnattr_setflags(&s.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                              POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSCHEDULER),
        "spawn: setflags");
  check(posix_spawnattr_setpgroup(&s.attr, 0), "spawn: setpgroup");
  check(posix_spawnattr_setschedpolicy(&s.attr, SCHED_OTHER), "spawn: setschedpolicy");
  check(posix_spawnattr_setschedparam(&s.attr, &normal_priority), "spawn: setschedparam");
  check(posix_spawnattr_setsigmask(&s.attr, &empty), "spawn: setsigmask");
  check(posix_spawnattr_setsigdefault(&s.attr, &all_defaults), "spawn: setsigdefault");

  if (spec.stdin_fd >= 0) {
    check(posix_spawn_file_actions_adddup2(&s.actions, spec.stdin_fd, 0), "spawn: stdin");
  } else {
    check(posix_spawn_file_actions_addopen(&s.actions, 0, spec.stdin_file.c_str(), O_RDONLY, 0),
          "spawn: stdin");
  }
  check(posix_spawn_file_actions_addopen(&s.actions, 1, spec.stdout_file.c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0600),
        "spawn: stdout");
  check(posix_spawn_file_actions_addopen(&s.actions, 2, spec.stderr_file.c_str(),
                                         O_WRONLY | O_CREAT | O_TRUNC, 0600),
        "spawn: stderr");
  check(posix_spawn_file_actions_addchdir_np(&s.actions, spec.working_directory.c_str()),
        "spawn: chdir");
  // Host descriptors (sockets, the store) must not leak into scripts, even
  // those opened without O_CLOEXEC.
  check(posix_spawn_file_actions_addclosefrom_np(&s.actions, 3), "spawn: closefrom");

  std::vector<char*> argv;
  argv.reserve(spec.argv.size() + 1);
  for (const auto& arg : spec.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(spec.environment.size() + 1);
  for (const auto& var : spec.environment) envp.push_back(const_cast<char*>(var.c_str()));
  envp.push_back(nullptr);

  pid_t pid = -1;
  const int result = posix_spawn(&pid, argv.front(), &s.actions, &s.attr, argv.data(), envp.data());
  if (result != 0) throw_errno(result, "spawn " + spec.argv.front());

  // The child cannot be reaped by us before this (we are its only waiter), so
  // ESRCH only happens when the host reaps children behind our back.
  // Raw syscall: glibc 2.36's <sys/pidfd.h> lacks extern "C" for C++.
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  return ChildProcess(pid, fd);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::exchange(other.pidfd_, -1)),
      reaped_(std::exchange(other.reaped_, true)),
      lost_(std::exchange(other.lost_, false)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (pidfd_ >= 0) ::close(pidfd_);
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::exchange(other.pidfd_, -1);
    reaped_ = std::exchange(other.reaped_, true);
    lost_ = std::exchange(other.lost_, false);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (pidfd_ >= 0) ::close(pidfd_);
}

bool ChildProcess::has_exited() const noexcept {
  if (reaped_ || lost_) return true;
  if (pidfd_ >= 0) {
    pollfd fd{pidfd_, POLLIN, 0};
    return ::poll(&fd, 1, 0) > 0;
  }
  // No pidfd: ask without reaping, so that the zombie keeps the group id.
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    lost_ = true;  // ECHILD: someone else reaped it
    return true;
  }
  return info.si_pid != 0;
}

bool ChildProcess::wait_until(std::chrono::steady_clock::time_point deadline) const noexcept {
  if (reaped_ || lost_) return true;
  if (pidfd_ < 0) {
    while (!has_exited()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }
  for (;;) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd fd{pidfd_, POLLIN, 0};
    const int timeout =
        left.count() <= 0 ? 0 : static_cast<int>(std::min<long long>(left.count(), 60'000));
    const int ready = ::poll(&fd, 1, timeout);
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) return false;
    if (ready == 0 && std::chrono::steady_clock::now() >= deadline) return false;
  }
}

void ChildProcess::signal_group(int signal) const noexcept {
  // Once reaped (or lost) the id may belong to someone else.
  if (pid_ > 0 && !reaped_ && !lost_) ::kill(-pid_, signal);
}

std::optional<int> ChildProcess::reap() noexcept {
  if (reaped_ || pid_ <= 0) return std::nullopt;
  reaped_ = true;
  int status = 0;
  for (;;) {
    const pid_t result = ::waitpid(pid_, &status, 0);
    if (result == pid_) return status;
    if (result < 0 && errno == EINTR) continue;
    return std::nullopt;  // ECHILD: reaped elsewhere
  }
}

bool process_group_exists(pid_t pgid) noexcept {
  if (pgid <= 1) return false;
  // EPERM means the group exists but belongs to someone else.
  return ::kill(-pgid, 0) == 0 || errno == EPERM;
}

void signal_process_group(pid_t pgid, int signal) noexcept {
  if (pgid > 1) ::kill(-pgid, signal);
}

}  // namespace flint::drivers::script
