#pragma once

/// @file
/// A driver call from a request: the target's breaker first, then the
/// driver executor, a timeout counted against the target only when the call
/// started. And the same for the status polls of a job.

#include <atomic>
#include <cstdint>
#include <functional>

#include <boost/asio/awaitable.hpp>

#include "drivers/driver_executor.hpp"
#include "drivers/driver_manager.hpp"

namespace flint::drivers {

/// Runs `work` on `executor` for `target` (see `DriverExecutor::run_then`):
/// refused at once (no queueing) while the target's breaker is open, and a
/// call that started and overran its deadline is recorded as a failure of
/// the target. A call that never reached the driver (it waited in the queue
/// past its deadline, the pool refused it, or `work` failed before its
/// `DriverManager::call`) counts neither way; when it was the half-open
/// probe, the next call probes. Await it from the coroutine's own executor.
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
  } catch (const CallExpiredInQueue&) {
    target.breaker->abandon_probe(probe);
    throw;
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

/// The breaker's side of a job's status polls, each run of the job one call
/// queued with `DriverExecutor::submit` and bounded by `JobRun::expire_at`:
/// which came first, a driver thread starting the call of run `attempt`
/// (`jobs::Job::attempts`) or the run's expiry. A poll whose run expired
/// while it still waited in the queue never starts and is no failure of its
/// target (it never reached it), and a half-open probe it held is given
/// back; a poll that started and overran is the target's timeout.
///
/// Keep one per job (the runs of a job never overlap). Thread-safe and
/// lock-free: one per execution in flight, so it is kept small (16 bytes).
class GuardedPoll {
 public:
  /// Before queueing the call of run `attempt`, admitted by
  /// `DriverManager::admit` as `probe`.
  void queued(std::uint32_t attempt, std::uint64_t probe) {
    probe_.store(probe, std::memory_order_relaxed);
    state_.store(pack(attempt, Phase::queued), std::memory_order_release);
  }

  /// On the driver thread, before the call: whether the call of run
  /// `attempt` may start (false: its run expired first; skip it).
  bool start(std::uint32_t attempt) {
    auto state = state_.load(std::memory_order_acquire);
    for (;;) {
      if (attempt_of(state) != attempt) return true;  // not queued through `queued`
      if (phase_of(state) == Phase::expired) return false;
      if (phase_of(state) != Phase::queued) return true;
      if (state_.compare_exchange_weak(state, pack(attempt, Phase::started),
                                       std::memory_order_acq_rel)) {
        return true;
      }
    }
  }

  /// When run `attempt` expired: records a timeout on `target`'s breaker
  /// when its call had started; otherwise the call never starts, and the
  /// probe it held (if any) is given back.
  /// @returns false when the call never started, true otherwise.
  bool expired(std::uint32_t attempt, DriverManager& drivers, const DriverManager::Target& target) {
    auto state = state_.load(std::memory_order_acquire);
    for (;;) {
      if (attempt_of(state) != attempt) return true;  // not queued through `queued`: unknown
      switch (phase_of(state)) {
        case Phase::idle:
          return true;
        case Phase::expired:
          return false;
        case Phase::started:
          drivers.record_timeout(target);
          return true;
        case Phase::queued:
          if (state_.compare_exchange_weak(state, pack(attempt, Phase::expired),
                                           std::memory_order_acq_rel)) {
            target.breaker->abandon_probe(probe_.load(std::memory_order_relaxed));
            return false;
          }
          break;
      }
    }
  }

 private:
  enum class Phase : std::uint64_t { idle, queued, started, expired };
  static std::uint64_t pack(std::uint32_t attempt, Phase phase) noexcept {
    return (std::uint64_t{attempt} << 2) | static_cast<std::uint64_t>(phase);
  }
  static std::uint32_t attempt_of(std::uint64_t state) noexcept {
    return static_cast<std::uint32_t>(state >> 2);
  }
  static Phase phase_of(std::uint64_t state) noexcept { return static_cast<Phase>(state & 3); }

  std::atomic<std::uint64_t> state_{0};  // the attempt and its phase
  std::atomic<std::uint64_t> probe_{0};
};

}  // namespace flint::drivers
