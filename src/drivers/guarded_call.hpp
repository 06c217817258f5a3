#pragma once

/// @file
/// A driver call from a request: the target's breaker first, then the
/// driver executor, a timeout counted against the target.

#include <cstdint>
#include <functional>

#include <boost/asio/awaitable.hpp>

#include "drivers/driver_executor.hpp"
#include "drivers/driver_manager.hpp"

namespace flint::drivers {

/// Runs `work` on `executor` for `target` (see `DriverExecutor::run_then`):
/// refused at once (no queueing) while the target's breaker is open, and a
/// call that overruns its deadline is recorded as a failure of the target.
/// A call that never reached the driver (the pool refused it, or `work`
/// failed before its `DriverManager::call`) counts neither way; when it was
/// the half-open probe, the next call probes. Await it from the coroutine's own executor.
/// @throws sdk::TemporaryDriverError (open breaker, saturated pool,
///         deadline), or what `work` throws or finishes with.
template <class T>
boost::asio::awaitable<T> guarded_call_then(DriverManager& drivers, DriverExecutor& executor,
                                            const DriverManager::Target& target,
                                            DriverExecutor::Call call,
                                            std::function<void(DriverExecutor::Finish<T>)> work) {
  const std::uint64_t probe = drivers.admit(target);
  // Whatever ends the call, a probe whose outcome `DriverManager::call` did
  // not record never reached the target: give its slot back (a no-op once
  // recorded).
  try {
    auto run = executor.run_then<T>(call, std::move(work));
    T result = co_await std::move(run);
    target.breaker->abandon_probe(probe);
    co_return result;
  } catch (const CallTimedOut&) {
    drivers.record_timeout(target);
    throw;
  } catch (...) {
    target.breaker->abandon_probe(probe);
    throw;
  }
}

/// `guarded_call_then` for work whose result is ready when it returns.
template <class T>
boost::asio::awaitable<T> guarded_call(DriverManager& drivers, DriverExecutor& executor,
                                       const DriverManager::Target& target,
                                       DriverExecutor::Call call, std::function<T()> work) {
  // Not a coroutine itself: the caller awaits guarded_call_then's frame.
  return guarded_call_then<T>(
      drivers, executor, target, call,
      [work = std::move(work)](DriverExecutor::Finish<T> finish) { finish(work()); });
}

}  // namespace flint::drivers
