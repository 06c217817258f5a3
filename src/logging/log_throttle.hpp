#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>

namespace flint::logging {

/// Lets one line through per interval and counts the others: for a failure
/// that can repeat thousands of times a second (a full disk under every
/// monitored job, a client trying tokens), one line says it goes on without
/// flooding the log. Thread-safe.
class LogThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  /// At most one line per `interval`.
  explicit LogThrottle(Clock::duration interval) : interval_(interval) {}

  /// How many lines were held back since the last one let through, when a
  /// line may be written now; nullopt when it must be held back (and is
  /// counted).
  std::optional<std::size_t> admit(Clock::time_point now = Clock::now()) {
    std::lock_guard lock(mutex_);
    if (now < next_) {
      ++held_back_;
      return std::nullopt;
    }
    next_ = now + interval_;
    const std::size_t held_back = held_back_;
    held_back_ = 0;
    return held_back;
  }

  /// The interval, for messages ("... in the last 10 s").
  Clock::duration interval() const { return interval_; }

 private:
  const Clock::duration interval_;
  std::mutex mutex_;
  Clock::time_point next_{};
  std::size_t held_back_ = 0;
};

}  // namespace flint::logging
