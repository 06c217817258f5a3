#pragma once

/// @file
/// The driver threads: a shared pool, and pools of their own for the drivers
/// an operator sets apart.

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "drivers/driver_executor.hpp"

namespace flint::drivers {

/// Every driver's calls run in the shared pool (`driver_calls.threads`),
/// unless the driver has threads of its own (`driver_calls.dedicated_threads`).
/// A driver whose targets hang holds its threads until each call returns
/// (threads cannot be killed); with threads of its own, what it holds are
/// those, and the other drivers keep theirs: a bulkhead.
///
/// Thread-safe: the set of pools is fixed at construction.
class DriverPools {
 public:
  /// Starts the shared pool, and a pool of `threads` for each entry of
  /// `dedicated` (driver name -> threads), each with the shared pool's queue
  /// size. The probe must outlive the pools.
  /// @throws std::runtime_error when a thread cannot be started, its message
  ///         starting with the pool's key (`driver_calls.threads`, or
  ///         `driver_calls.dedicated_threads.<driver>`).
  DriverPools(DriverExecutor::Options shared,
              const std::map<std::string, std::size_t, std::less<>>& dedicated,
              DriverCallProbe& probe);
  DriverPools(const DriverPools&) = delete;
  DriverPools& operator=(const DriverPools&) = delete;

  /// The pool that runs `driver`'s calls.
  DriverExecutor& for_driver(std::string_view driver) noexcept;
  /// The shared pool: the host's own work on driver threads goes there.
  DriverExecutor& shared() noexcept { return *shared_; }

  /// Stops every pool (see `DriverExecutor::shutdown`), all within `grace`.
  /// @returns false when calls were still running after it.
  bool shutdown(std::chrono::milliseconds grace = std::chrono::hours(24));
  /// Calls running now, in all pools.
  std::size_t running() const noexcept;

  /// Calls `visit(driver, pool)` for each dedicated pool, by driver name.
  void for_each_dedicated(
      const std::function<void(std::string_view driver, const DriverExecutor& pool)>& visit) const;

 private:
  std::unique_ptr<DriverExecutor> shared_;
  std::map<std::string, std::unique_ptr<DriverExecutor>, std::less<>> dedicated_;
};

}  // namespace flint::drivers
