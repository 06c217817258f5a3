#include "app/service_manager.hpp"

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "logging/logging.hpp"

namespace flint::app {
namespace {

std::string_view environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? std::string_view(value) : std::string_view();
}

template <typename Integer>
bool parse_integer(std::string_view text, Integer& value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

}  // namespace

ServiceManager ServiceManager::from_environment() {
  ServiceManager manager;
  const auto log = logging::logger("app");
  manager.socket_path_ = std::string(environment("NOTIFY_SOCKET"));
  const std::string_view usec = environment("WATCHDOG_USEC");
  const std::string_view pid = environment("WATCHDOG_PID");
  long long watched_pid = 0;
  long long timeout = 0;
  // systemd sets WATCHDOG_PID to the process it watches: a child that
  // inherited the variables is not that process.
  const bool for_us = pid.empty() || (parse_integer(pid, watched_pid) && watched_pid == ::getpid());
  if (!usec.empty() && for_us) {
    if (parse_integer(usec, timeout) && timeout > 0) {
      manager.watchdog_timeout_ = std::chrono::microseconds(timeout);
    } else {
      log->warn("WATCHDOG_USEC '{}' is not a positive number of microseconds; no watchdog", usec);
    }
  }
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
  if (manager.socket_path_.empty()) return manager;
  // An abstract name ('@') takes one byte for its leading NUL, as a path
  // takes one for its trailing one.
  if ((manager.socket_path_[0] != '/' && manager.socket_path_[0] != '@') ||
      manager.socket_path_.size() >= sizeof(sockaddr_un::sun_path)) {
    log->warn(
        "NOTIFY_SOCKET '{}' is neither an absolute path nor an abstract name ('@...') "
        "shorter than {} bytes; the service manager will not be told anything",
        manager.socket_path_, sizeof(sockaddr_un::sun_path));
    manager.socket_path_.clear();
    return manager;
  }
  manager.fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (manager.fd_ < 0) {
    log->warn(
        "NOTIFY_SOCKET: cannot open a socket: {}; the service manager will not be told "
        "anything",
        std::strerror(errno));
    manager.socket_path_.clear();
  }
  return manager;
}

ServiceManager::ServiceManager(ServiceManager&& other) noexcept
    : socket_path_(std::move(other.socket_path_)),
      watchdog_timeout_(other.watchdog_timeout_),
      fd_(other.fd_),
      failure_logged_(other.failure_logged_) {
  other.socket_path_.clear();
  other.fd_ = -1;
}

ServiceManager::~ServiceManager() {
  if (fd_ >= 0) ::close(fd_);
}

void ServiceManager::ready(std::string_view status) {
  send(fmt::format("READY=1\nSTATUS={}", status));
}

void ServiceManager::reloading() {
  // systemd 253+ (Type=notify-reload) wants the time of the request, to tell
  // this reload from an earlier one.
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  send(fmt::format("RELOADING=1\nMONOTONIC_USEC={}",
                   static_cast<long long>(now.tv_sec) * 1'000'000 + now.tv_nsec / 1'000));
}

void ServiceManager::stopping() {
  send("STOPPING=1");
}

void ServiceManager::watchdog() {
  send("WATCHDOG=1");
}

void ServiceManager::send(std::string_view message) {
  if (!enabled()) return;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, socket_path_.data(), socket_path_.size());
  if (socket_path_[0] == '@') address.sun_path[0] = '\0';
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_path_.size() +
                                             (socket_path_[0] == '/'));
  // Never waits: this runs on the loop that serves (a manager that stopped
  // reading would otherwise stop the service). A notification the manager
  // has no room for is lost, and said so once.
  const ssize_t sent = ::sendto(fd_, message.data(), message.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                                reinterpret_cast<const sockaddr*>(&address), length);
  if (sent < 0 && !failure_logged_) {
    // Once: a watchdog that cannot be fed would otherwise log every few seconds.
    failure_logged_ = true;
    logging::logger("app")->warn("cannot notify the service manager at NOTIFY_SOCKET {}: {}",
                                 socket_path_, std::strerror(errno));
  }
}

}  // namespace flint::app
