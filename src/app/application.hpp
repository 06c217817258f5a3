#pragma once

/// @file
/// Wiring: builds every enabled component from the configuration, serves,
/// and stops in order.

#include <memory>

#include "config/host_config.hpp"

namespace flint::app {

/// Makes SIGHUP harmless to this process for good: while `Application::run`
/// serves, it reloads the listener's credentials; before and after, it is
/// absorbed (its default action would end the process). Call first in
/// `flint serve`; idempotent. (A handler that counts signals, installed once
/// and never taken away, not SIG_IGN: programs the host starts get the
/// default at exec.)
void absorb_hangups();

/// The `flint serve` process: starts what `bootstrap.*` enables, serves until
/// SIGINT or SIGTERM, then stops gracefully: no new connection, idle ones
/// closed, in-flight requests finished within `http.shutdown_timeout`.
/// SIGHUP reads the listener's TLS and token files again (`ListenerCredentials`).
class Application {
 public:
  /// Builds nothing yet; `run` does.
  explicit Application(config::HostConfig config);
  ~Application();
  Application(const Application&) = delete;
  Application& operator=(const Application&) = delete;

  /// Runs until a stop signal. When driver calls are still running after the
  /// grace period, the process exits from here (their threads cannot be
  /// joined, and destroying what they use would be worse).
  /// @returns the process exit status (0 after a clean stop).
  /// @throws std::exception when a component cannot start (bind, workspace...).
  int run();

 private:
  config::HostConfig config_;
};

}  // namespace flint::app
