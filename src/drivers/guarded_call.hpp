#pragma once

/// @file
/// A driver call from a request: the target's breaker first, then the
/// driver executor, a timeout counted against the target.

#include <functional>

#include <boost/asio/awaitable.hpp>

#include "drivers/driver_executor.hpp"
#include "drivers/driver_manager.hpp"

namespace flint::drivers {

/// Runs `work` on `executor` for `target`: refused at once (no queueing)
/// while the target's breaker is open, and a call that overruns its
/// deadline is recorded as a failure of the target. Await it from a strand
/// (see `DriverExecutor::run`).
/// @throws sdk::TemporaryDriverError (open breaker, saturated pool,
///         deadline), or what `work` throws.
template <class T>
boost::asio::awaitable<T> guarded_call(DriverManager& drivers, DriverExecutor& executor,
                                       const DriverManager::Target& target,
                                       DriverExecutor::Call call, std::function<T()> work) {
  drivers.admit(target);
  try {
    co_return co_await executor.run<T>(call, std::move(work));
  } catch (const CallTimedOut&) {
    drivers.record_timeout(target);
    throw;
  }
}

}  // namespace flint::drivers
