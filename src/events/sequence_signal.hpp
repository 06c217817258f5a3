#pragma once

/// @file
/// A monotonically increasing number that coroutines can wait on.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

namespace flint::events {

/// Holds a sequence number that only grows (e.g. the last sequence number of
/// a log) and wakes the coroutines waiting for it to pass a value, without
/// anyone polling.
///
/// A waiting coroutine parks on a `steady_timer` of its own executor; a
/// writer (any thread) posts to that executor a change of the timer's expiry
/// to `min()`, which completes the wait whether it is already pending or not
/// yet started (the same trick as `drivers::DriverExecutor`).
///
/// Thread-safe. `wait_beyond` must be awaited on a strand or a single-threaded
/// executor (the timer is only touched there). The signal must outlive every
/// waiting coroutine.
class SequenceSignal {
 public:
  /// Starts at `initial`.
  explicit SequenceSignal(std::int64_t initial = 0) noexcept : value_(initial) {}
  ~SequenceSignal();
  SequenceSignal(const SequenceSignal&) = delete;
  SequenceSignal& operator=(const SequenceSignal&) = delete;

  /// The current value.
  std::int64_t value() const noexcept { return value_.load(std::memory_order_acquire); }

  /// Raises the value to `value` (a lower value is ignored) and wakes the
  /// waiters it satisfies.
  void advance(std::int64_t value);

  /// Wakes every waiter now, and makes every later wait return at once: for a
  /// stop, so that long polls do not hold it up. Idempotent.
  void close();
  /// True once `close` was called.
  bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }

  /// Waits until the value is greater than `after`, `deadline` passes, or the
  /// signal is closed, whichever comes first.
  /// @returns true when the value is greater than `after`.
  boost::asio::awaitable<bool> wait_beyond(std::int64_t after,
                                           std::chrono::steady_clock::time_point deadline);

  /// Coroutines waiting now (for tests and metrics).
  std::size_t waiters() const;

 private:
  struct Waiter;
  using Waiters = std::list<std::shared_ptr<Waiter>>;
  void wake(const std::shared_ptr<Waiter>& waiter);

  std::atomic<std::int64_t> value_;
  std::atomic<bool> closed_{false};
  mutable std::mutex mutex_;
  Waiters waiters_;
};

}  // namespace flint::events
