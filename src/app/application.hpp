#pragma once

/// @file
/// Wiring: builds every enabled component from the configuration, serves,
/// and stops in order.

#include <memory>

#include "config/host_config.hpp"

namespace flint::app {

/// The `flint serve` process: starts what `bootstrap.*` enables, serves until
/// SIGINT or SIGTERM, then stops gracefully: no new connection, idle ones
/// closed, in-flight requests finished within `http.shutdown_timeout`.
class Application {
 public:
  /// Builds nothing yet; `run` does.
  explicit Application(config::HostConfig config);
  ~Application();
  Application(const Application&) = delete;
  Application& operator=(const Application&) = delete;

  /// Runs until a stop signal.
  /// @returns the process exit status (0 after a clean stop).
  /// @throws std::exception when a component cannot start (bind, workspace...).
  int run();

  /// True when driver calls were still running when the process stopped
  /// (their threads cannot be joined; the caller should exit at once).
  bool left_driver_calls_running() const noexcept { return left_running_; }

 private:
  config::HostConfig config_;
  bool left_running_ = false;
};

}  // namespace flint::app
