#pragma once

/// @file
/// A circuit breaker for one target: stop calling a target that keeps
/// failing, answer fast, and probe now and then whether it is back.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace flint::drivers {

/// States of a `CircuitBreaker`.
enum class BreakerState {
  closed,     ///< calls go through; consecutive failures are counted
  open,       ///< calls are refused at once until `open_duration` has passed
  half_open,  ///< one probe call goes through; its outcome closes or reopens
};

/// Wire name of a state: `closed`, `open`, `half_open`.
std::string_view to_string(BreakerState state) noexcept;

/// Counts consecutive failures of calls to one target and opens after
/// `failure_threshold` of them. Open, it refuses calls for `open_duration`,
/// then lets one probe through (half-open): a success closes it, a failure
/// opens it again. A probe whose call ends without reaching the target (it
/// waited in the queue past its deadline, or was refused before the driver
/// ran) is abandoned, and the next call probes; one that never reports at all
/// is replaced by another after `open_duration`.
///
/// Thread-safe.
class CircuitBreaker {
 public:
  /// The clock the breaker reads (replaceable in tests).
  using Clock = std::chrono::steady_clock;

  /// `drivers.breaker.*`.
  struct Options {
    /// Consecutive failures that open the breaker; 0 disables it.
    std::size_t failure_threshold = 5;
    /// How long it stays open before a probe.
    std::chrono::milliseconds open_duration{30'000};
    /// The time source; tests pass a fake.
    std::function<Clock::time_point()> now = [] { return Clock::now(); };
  };

  /// A consistent copy of the breaker's state.
  struct Snapshot {
    BreakerState state = BreakerState::closed;
    std::size_t consecutive_failures = 0;  ///< since the last success
    std::uint64_t times_opened = 0;        ///< since start
    std::uint64_t rejected = 0;            ///< calls refused while open
    std::string last_failure;              ///< message of the latest failure
    /// While open: time left before the next probe.
    std::chrono::milliseconds retry_in{0};
    /// Since the last call was asked for or reported (or since creation).
    std::chrono::milliseconds idle_for{0};
  };

  /// Transitions, for metrics and logs: called with the old and the new
  /// state, under no lock.
  using Listener = std::function<void(BreakerState from, BreakerState to)>;

  explicit CircuitBreaker(Options options, Listener listener = {});

  /// Why a call may not go ahead, and when to ask again.
  struct Refusal {
    std::string reason;
    /// The open breaker's time left; with a probe out, the time left before
    /// another call may probe (at least 1 ms).
    std::chrono::milliseconds retry_in{1};
  };

  /// Asks to make a call. Returns nullopt when it may go ahead (as the
  /// probe, when half-open), or why it may not. When `probe` is given, it is
  /// set to the probe's number (never 0) when the call goes ahead as the
  /// half-open probe, else to 0: pass it to `abandon_probe` when the call
  /// ends without reaching the target.
  std::optional<Refusal> admit(std::uint64_t* probe = nullptr);
  /// Reports that an admitted call succeeded (the target answered, even with
  /// an error that is the caller's: invalid request, not found...).
  void record_success();
  /// Reports that an admitted call failed because of the target (timeout,
  /// unreachable, temporary or driver error); `what` is kept for listings.
  void record_failure(std::string_view what);
  /// Reports that the call admitted as probe `probe` (from `admit`) ended
  /// without an outcome of the target: it never reached it. The next call
  /// may probe at once. Does nothing for 0, or once that probe's outcome was
  /// recorded (or another probe replaced it), so it is safe to call whenever
  /// the probe's call ends.
  void abandon_probe(std::uint64_t probe);

  /// The current state.
  Snapshot snapshot() const;

 private:
  // Opens the breaker.
  void open_locked(Clock::time_point now);
  void notify(BreakerState from, BreakerState to) const {
    if (from != to && listener_) listener_(from, to);
  }

  Options options_;
  Listener listener_;
  mutable std::mutex mutex_;
  BreakerState state_ = BreakerState::closed;
  std::size_t consecutive_failures_ = 0;
  std::uint64_t times_opened_ = 0;
  std::uint64_t rejected_ = 0;
  std::string last_failure_;
  Clock::time_point opened_at_{};
  Clock::time_point probe_started_at_{};
  bool probe_in_flight_ = false;
  std::uint64_t probes_ = 0;     // probes admitted so far: the number of the latest
  Clock::time_point last_used_;  // the latest admit or report
};

}  // namespace flint::drivers
