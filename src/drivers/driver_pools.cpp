#include "drivers/driver_pools.hpp"

#include <algorithm>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace flint::drivers {

DriverPools::DriverPools(DriverExecutor::Options shared,
                         const std::map<std::string, std::size_t, std::less<>>& dedicated,
                         DriverCallProbe& probe) {
  // A pool that cannot start its threads is named by its key.
  const auto start = [&probe](DriverExecutor::Options options, const std::string& key) {
    try {
      return std::make_unique<DriverExecutor>(std::move(options), probe);
    } catch (const std::system_error& e) {
      throw std::runtime_error(key + ": " + e.what());
    }
  };
  for (const auto& [driver, threads] : dedicated) {
    // `drv.<driver>-<n>`: the driver's name is cut to fit the kernel's 15.
    dedicated_.emplace(driver, start({.threads = threads,
                                      .queue_size = shared.queue_size,
                                      .thread_name = "drv." + driver.substr(0, 8)},
                                     "driver_calls.dedicated_threads." + driver));
  }
  shared_ = start(std::move(shared), "driver_calls.threads");
}

DriverExecutor& DriverPools::for_driver(std::string_view driver) noexcept {
  if (dedicated_.empty()) return *shared_;  // the common case: no lookup
  const auto pool = dedicated_.find(driver);
  return pool == dedicated_.end() ? *shared_ : *pool->second;
}

bool DriverPools::shutdown(std::chrono::milliseconds grace) {
  // One grace for all: each pool gets what the ones before it left.
  const auto deadline = std::chrono::steady_clock::now() + grace;
  const auto left = [&] {
    return std::max(std::chrono::milliseconds(0),
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now()));
  };
  bool drained = shared_->shutdown(left());
  for (auto& [driver, pool] : dedicated_) drained = pool->shutdown(left()) && drained;
  return drained;
}

std::size_t DriverPools::running() const noexcept {
  std::size_t running = shared_->running();
  for (const auto& [driver, pool] : dedicated_) running += pool->running();
  return running;
}

void DriverPools::for_each_dedicated(
    const std::function<void(std::string_view driver, const DriverExecutor& pool)>& visit) const {
  for (const auto& [driver, pool] : dedicated_) visit(driver, *pool);
}

}  // namespace flint::drivers
