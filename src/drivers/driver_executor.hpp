#pragma once

/// @file
/// The bounded pool that runs driver code, off the network threads.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <flint/sdk/errors.hpp>

#include "drivers/driver_call_probe.hpp"
#include "logging/fatal_signal.hpp"

namespace flint::drivers {

/// A call refused because every driver thread is busy and the queue is full
/// (it never reached the driver).
class CallRejected : public sdk::TemporaryDriverError {
 public:
  using sdk::TemporaryDriverError::TemporaryDriverError;
};

/// A call that did not finish by its deadline (it may still be running).
class CallTimedOut : public sdk::TemporaryDriverError {
 public:
  using sdk::TemporaryDriverError::TemporaryDriverError;
};

/// A `CallTimedOut` that never started: it waited in the queue until its
/// deadline passed, because every driver thread was busy, and now never
/// runs. It tells nothing of its target (it never reached the driver).
class CallExpiredInQueue : public CallTimedOut {
 public:
  using CallTimedOut::CallTimedOut;
};

/// Runs driver calls on a fixed set of threads with a bounded queue and a
/// deadline per call, and resumes the awaiting coroutine with the result.
///
/// Driver code may block; the network threads never do. A call that cannot
/// be queued (queue full) or does not finish by its deadline ends, for the
/// caller, in `sdk::TemporaryDriverError` (HTTP 503, a retry for jobs). The
/// overrunning call keeps its thread until it returns (threads cannot be
/// killed), and its late result is dropped; a queued call whose deadline
/// passes before a thread takes it is not run at all.
///
/// Thread-safe. `run` must be awaited from a strand (or a single-threaded
/// executor): completion is signalled through a timer on that executor.
class DriverExecutor {
  template <class T>
  struct Pending;

 public:
  /// Ends a call started by `run_then`: with its result or with an error,
  /// once (later calls are ignored), from any thread. Copyable: keep it
  /// wherever the result will come from.
  template <class T>
  class Finish {
   public:
    /// Ends the call with `value`.
    /// @returns false when the call had ended already: its caller gave up
    ///          at the deadline, or it was finished before.
    bool operator()(T value) const;
    /// Ends the call with `error`, rethrown to the awaiting caller.
    /// @returns false when the call had ended already, as above.
    bool fail(std::exception_ptr error) const;

   private:
    friend class DriverExecutor;
    explicit Finish(std::shared_ptr<Pending<T>> pending) : pending_(std::move(pending)) {}
    std::shared_ptr<Pending<T>> pending_;
  };

  /// Pool sizing (`driver_calls.*`).
  struct Options {
    /// Driver threads: the most driver calls running at once.
    std::size_t threads = 16;
    /// Calls that may wait for a thread; more are rejected at once.
    std::size_t queue_size = 1024;
    /// Threads are named `<thread_name>-<n>` (at most 15 characters in all).
    std::string thread_name = "driver";
  };

  /// What a call is, for metrics, errors and its deadline.
  struct Call {
    /// Driver name (metrics label).
    std::string_view driver;
    /// Operation, e.g. `execute_lifecycle` (metrics label).
    std::string_view operation;
    /// When the caller stops waiting.
    std::chrono::steady_clock::time_point deadline;
  };

  /// Starts the threads. The probe must outlive the executor.
  /// @throws std::system_error naming the thread when one cannot be started
  /// (the limit on processes, memory); those already started are joined.
  DriverExecutor(Options options, DriverCallProbe& probe);
  /// Calls `shutdown`.
  ~DriverExecutor();
  DriverExecutor(const DriverExecutor&) = delete;
  DriverExecutor& operator=(const DriverExecutor&) = delete;

  /// Runs `work` on a driver thread and returns its result (or rethrows its
  /// exception) to the awaiting coroutine.
  /// @throws CallRejected when the queue is full, CallTimedOut when the
  ///         deadline passes first: CallExpiredInQueue when the call was
  ///         still waiting for a thread then (it never runs), else the call
  ///         overran (all `sdk::TemporaryDriverError`s).
  template <class T>
  boost::asio::awaitable<T> run(Call call, std::function<T()> work);

  /// `run` for work that ends after it returns: `work` gets a `Finish` and
  /// calls it, now or later from any thread (a store's commit, say). The
  /// driver thread is free once `work` returns. The deadline bounds `work`
  /// only: once it has returned, the finish is the caller's own business
  /// and is awaited without one. What `work` throws ends the call.
  /// @throws as `run`.
  template <class T>
  boost::asio::awaitable<T> run_then(Call call, std::function<void(Finish<T>)> work);

  /// Runs `work` on a driver thread without waiting for it (an after-delivery
  /// hook, say). Its exceptions are counted and dropped. Not run at all when
  /// it would start after `call.deadline` (counted as `timeout`).
  /// @returns false when the queue is full or the executor is stopping.
  bool submit(Call call, std::function<void()> work);

  /// `submit` for many calls of one operation: they run one after another
  /// on one driver thread, taking one queue slot (a burst of them cannot
  /// crowd API calls out of the queue). Each is timed and counted as its own
  /// call. `call.deadline` bounds the batch's wait in the queue only: a
  /// batch taken after it runs none of its calls (each counted `timeout`;
  /// `expired`, when given, is called with their number on the driver
  /// thread), while a batch that started runs every call, however long the
  /// earlier ones took (each call bounds itself).
  /// @returns false (every call counted `rejected`) when the queue is full
  ///          or the executor is stopping.
  bool submit_each(Call call, std::vector<std::function<void()>> works,
                   std::function<void(std::size_t)> expired = {});

  /// Stops taking calls, drops queued ones (their callers are gone at
  /// shutdown) and waits up to `grace` for running ones. Idempotent.
  /// @returns true when every thread was joined; false when calls were still
  ///          running after `grace`: their threads are detached and still use
  ///          this executor and the driver, so neither may be destroyed; the
  ///          process must exit without running destructors.
  bool shutdown(std::chrono::milliseconds grace = std::chrono::hours(24));

  /// Calls waiting for a thread.
  std::size_t queued() const;
  /// Calls running now.
  std::size_t running() const noexcept { return running_.load(); }
  /// The configured sizes.
  const Options& options() const noexcept { return options_; }

 private:
  template <class T>
  struct Pending {
    explicit Pending(boost::asio::any_io_executor executor) : timer(std::move(executor)) {}
    boost::asio::steady_timer timer;
    std::optional<T> value;
    std::exception_ptr error;
    // Open until the first finish claims it, or the caller gives up.
    enum Claim : int { open, finished, abandoned };
    std::atomic<int> claim{open};
    std::atomic<bool> done{false};           // value or error is set
    std::atomic<bool> work_returned{false};  // the driver thread is done with it
    // Queued until a driver thread starts it or the caller gives up on it
    // at the deadline, whichever comes first: a call given up on never starts.
    enum Phase : int { in_queue, started, expired };
    std::atomic<int> phase{in_queue};
  };
  template <class T>
  static bool finish(const std::shared_ptr<Pending<T>>& pending, std::optional<T> value,
                     std::exception_ptr error);

  struct Queued {
    std::chrono::steady_clock::time_point deadline;
    std::function<void()> task;
  };
  bool try_enqueue(std::function<void()> task, std::chrono::steady_clock::time_point deadline);
  // Runs `work` of a submitted call, timed and counted; skipped (counted as
  // a timeout) when it would start after `deadline`.
  void run_counted(std::string_view driver, std::string_view operation,
                   std::chrono::steady_clock::time_point deadline,
                   const std::function<void()>& work);
  // Under mutex_: whether to notify a sleeping worker of queued tasks.
  bool claim_wake() noexcept;
  void worker(std::size_t index);
  static std::string_view outcome_of(const std::exception_ptr& error) noexcept;
  // Counts `call` under `outcome` and throws: CallRejected (`rejected`),
  // CallExpiredInQueue (`expired`: it never started), else CallTimedOut.
  [[noreturn]] void fail(const Call& call, std::string_view outcome, std::string message);

  Options options_;
  DriverCallProbe& probe_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<Queued> queue_;
  // Workers blocked on wake_, and how many of them were notified but have
  // not woken yet (both under mutex_). At most one wake-up is in flight:
  // the worker it wakes passes it on while tasks are left (see worker()).
  std::size_t sleeping_ = 0;
  std::size_t waking_ = 0;
  bool stopping_ = false;
  bool drained_ = true;
  std::atomic<std::size_t> running_{0};
  std::vector<std::thread> threads_;
};

template <class T>
bool DriverExecutor::finish(const std::shared_ptr<Pending<T>>& pending, std::optional<T> value,
                            std::exception_ptr error) {
  int open = Pending<T>::open;
  if (!pending->claim.compare_exchange_strong(open, Pending<T>::finished)) return false;
  pending->value = std::move(value);
  pending->error = std::move(error);
  pending->done.store(true, std::memory_order_release);
  // Wake the caller: an expired timer completes a wait at once, whether the
  // wait is already pending or not yet started.
  boost::asio::post(pending->timer.get_executor(), [pending] {
    pending->timer.expires_at(std::chrono::steady_clock::time_point::min());
  });
  return true;
}

template <class T>
bool DriverExecutor::Finish<T>::operator()(T value) const {
  return DriverExecutor::finish<T>(pending_, std::move(value), nullptr);
}

template <class T>
bool DriverExecutor::Finish<T>::fail(std::exception_ptr error) const {
  return DriverExecutor::finish<T>(pending_, std::nullopt, std::move(error));
}

template <class T>
boost::asio::awaitable<T> DriverExecutor::run(Call call, std::function<T()> work) {
  // Not a coroutine itself: the caller awaits run_then's frame directly.
  return run_then<T>(call, [work = std::move(work)](Finish<T> finish) { finish(work()); });
}

template <class T>
boost::asio::awaitable<T> DriverExecutor::run_then(Call call, std::function<void(Finish<T>)> work) {
  auto executor = co_await boost::asio::this_coro::executor;
  auto pending = std::make_shared<Pending<T>>(executor);
  pending->timer.expires_at(call.deadline);

  const bool accepted = try_enqueue(
      [this, pending, work = std::move(work), driver = std::string(call.driver),
       operation = std::string(call.operation), deadline = call.deadline]() mutable {
        if (std::chrono::steady_clock::now() >= deadline) return;  // caller gave up already
        int in_queue = Pending<T>::in_queue;
        if (!pending->phase.compare_exchange_strong(in_queue, Pending<T>::started)) return;
        const auto started = std::chrono::steady_clock::now();
        std::exception_ptr failure;
        try {
          const logging::ScopedDriverCallNote note(driver, operation);  // named if it crashes
          work(Finish<T>(pending));
        } catch (...) {
          failure = std::current_exception();
        }
        // Handed over once the handler has ended: inside it, the runtime's own reference to the
        // exception could be the last one, dropped after the caller's thread read it (in
        // uninstrumented libstdc++, a race ThreadSanitizer reports).
        if (failure) Finish<T>(pending).fail(std::move(failure));
        pending->work_returned.store(true, std::memory_order_release);
        probe_.observe(driver, operation, std::chrono::steady_clock::now() - started);
      },
      call.deadline);
  if (!accepted) {
    fail(call, "rejected",
         "driver calls are saturated: " + std::to_string(options_.queue_size) +
             " calls already wait for a driver thread; retry later");
  }

  for (;;) {
    co_await pending->timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    if (pending->done.load(std::memory_order_acquire)) break;
    int open = Pending<T>::open;
    if (!pending->work_returned.load(std::memory_order_acquire) &&
        pending->claim.compare_exchange_strong(open, Pending<T>::abandoned)) {
      int in_queue = Pending<T>::in_queue;
      if (pending->phase.compare_exchange_strong(in_queue, Pending<T>::expired)) {
        fail(call, "expired",
             std::string("driver call ") + std::string(call.operation) +
                 " waited for a driver thread past its deadline and never started: driver "
                 "calls are saturated; retry later");
      }
      fail(call, "timeout",
           std::string("driver call ") + std::string(call.operation) +
               " did not finish within its deadline; retry later");
    }
    // Only the finish is outstanding (or claimed, not yet done). Its wake-up
    // runs on this executor, after this re-arm, so it cannot be lost.
    pending->timer.expires_at(std::chrono::steady_clock::time_point::max());
  }
  probe_.count(call.driver, call.operation, outcome_of(pending->error));
  // Moved out: the driver thread, which drops its copy of `pending` later,
  // must not hold the last reference to the exception this thread reads.
  if (pending->error) std::rethrow_exception(std::exchange(pending->error, nullptr));
  co_return std::move(*pending->value);
}

}  // namespace flint::drivers
