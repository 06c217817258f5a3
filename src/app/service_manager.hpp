#pragma once

/// @file
/// systemd's notification protocol (sd_notify), spoken without libsystemd.

#include <chrono>
#include <string>
#include <string_view>

namespace flint::app {

/// Tells the service manager (systemd, or any supervisor that speaks its
/// notification protocol) where the service stands: ready, reloading,
/// stopping, and alive (the watchdog).
///
/// The manager names a datagram socket in `NOTIFY_SOCKET` (a path, or an
/// abstract name starting with `@`); without it every call does nothing, so
/// the same binary runs under systemd (`Type=notify`) and anywhere else.
/// Sending never blocks nor fails the caller: a notification the manager
/// cannot take now (its queue is full) is lost, and the first loss is logged.
/// Not thread-safe: used from the thread that runs the host's own loop.
class ServiceManager {
 public:
  /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID`, then removes
  /// them from the environment so that the driver scripts Flint starts cannot
  /// speak for it. Call before any other thread starts (the environment is
  /// not thread-safe).
  static ServiceManager from_environment();

  ServiceManager() = default;
  ServiceManager(ServiceManager&& other) noexcept;
  ServiceManager& operator=(ServiceManager&&) = delete;
  ServiceManager(const ServiceManager&) = delete;
  ServiceManager& operator=(const ServiceManager&) = delete;
  ~ServiceManager();

  /// True when a manager listens.
  bool enabled() const noexcept { return !socket_path_.empty(); }

  /// How often the manager wants to hear `WATCHDOG=1` at the latest
  /// (`WatchdogSec=`); zero when it does not watch this process.
  std::chrono::microseconds watchdog_timeout() const noexcept { return watchdog_timeout_; }

  /// The service serves: `READY=1` with a one-line status.
  void ready(std::string_view status);
  /// A reload (SIGHUP) started; `ready` ends it.
  void reloading();
  /// The service stops: `STOPPING=1`.
  void stopping();
  /// The service's loop is alive: `WATCHDOG=1`.
  void watchdog();

 private:
  void send(std::string_view message);

  std::string socket_path_;  // as given; a leading '@' is an abstract name
  std::chrono::microseconds watchdog_timeout_{0};
  int fd_ = -1;
  bool failure_logged_ = false;
};

}  // namespace flint::app
