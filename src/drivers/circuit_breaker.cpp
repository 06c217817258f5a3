#include "drivers/circuit_breaker.hpp"

#include <fmt/format.h>

namespace flint::drivers {

std::string_view to_string(BreakerState state) noexcept {
  switch (state) {
    case BreakerState::closed:
      return "closed";
    case BreakerState::open:
      return "open";
    case BreakerState::half_open:
      return "half_open";
  }
  return "unknown";
}

CircuitBreaker::CircuitBreaker(Options options, Listener listener)
    : options_(std::move(options)), listener_(std::move(listener)), last_used_(options_.now()) {}

void CircuitBreaker::open_locked(Clock::time_point now) {
  state_ = BreakerState::open;
  opened_at_ = now;
  probe_in_flight_ = false;
  ++times_opened_;
}

std::optional<CircuitBreaker::Refusal> CircuitBreaker::admit(std::uint64_t* probe) {
  if (probe) *probe = 0;
  if (options_.failure_threshold == 0) return std::nullopt;
  BreakerState from;
  BreakerState to;
  std::optional<Refusal> refusal;
  {
    std::lock_guard lock(mutex_);
    from = state_;
    const auto now = options_.now();
    last_used_ = now;
    if (state_ == BreakerState::open && now - opened_at_ >= options_.open_duration) {
      state_ = BreakerState::half_open;
    }
    if (state_ == BreakerState::half_open) {
      if (!probe_in_flight_ || now - probe_started_at_ >= options_.open_duration) {
        probe_in_flight_ = true;
        probe_started_at_ = now;
        ++probes_;
        if (probe) *probe = probes_;
      } else {
        ++rejected_;
        refusal = Refusal{
            fmt::format("circuit breaker open after {} consecutive failures (last: {}); a probe "
                        "call is checking whether the target is back",
                        consecutive_failures_, last_failure_),
            std::max(std::chrono::milliseconds(1),
                     std::chrono::duration_cast<std::chrono::milliseconds>(
                         options_.open_duration - (now - probe_started_at_)))};
      }
    } else if (state_ == BreakerState::open) {
      ++rejected_;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          options_.open_duration - (now - opened_at_));
      refusal = Refusal{fmt::format("circuit breaker open after {} consecutive failures (last: "
                                    "{}); next attempt in {} ms",
                                    consecutive_failures_, last_failure_, left.count()),
                        std::max(std::chrono::milliseconds(1), left)};
    }
    to = state_;
  }
  notify(from, to);
  return refusal;
}

void CircuitBreaker::record_success() {
  if (options_.failure_threshold == 0) return;
  BreakerState from;
  {
    std::lock_guard lock(mutex_);
    from = state_;
    last_used_ = options_.now();
    consecutive_failures_ = 0;
    probe_in_flight_ = false;
    state_ = BreakerState::closed;
  }
  notify(from, BreakerState::closed);
}

void CircuitBreaker::record_failure(std::string_view what) {
  if (options_.failure_threshold == 0) return;
  BreakerState from;
  BreakerState to;
  {
    std::lock_guard lock(mutex_);
    from = state_;
    last_used_ = options_.now();
    ++consecutive_failures_;
    last_failure_.assign(what.substr(0, 300));
    if (state_ == BreakerState::half_open ||
        (state_ == BreakerState::closed && consecutive_failures_ >= options_.failure_threshold)) {
      open_locked(options_.now());
    }
    to = state_;
  }
  notify(from, to);
}

void CircuitBreaker::abandon_probe(std::uint64_t probe) {
  if (probe == 0 || options_.failure_threshold == 0) return;
  std::lock_guard lock(mutex_);
  // Recorded (closed or open again) or replaced: no longer this probe's slot.
  if (state_ == BreakerState::half_open && probe_in_flight_ && probe == probes_) {
    probe_in_flight_ = false;
  }
}

CircuitBreaker::Snapshot CircuitBreaker::snapshot() const {
  std::lock_guard lock(mutex_);
  const auto now = options_.now();
  Snapshot snapshot{
      .state = state_,
      .consecutive_failures = consecutive_failures_,
      .times_opened = times_opened_,
      .rejected = rejected_,
      .last_failure = last_failure_,
      .retry_in = {},
      .idle_for = std::chrono::duration_cast<std::chrono::milliseconds>(now - last_used_)};
  if (state_ == BreakerState::open) {
    const auto left = options_.open_duration - (now - opened_at_);
    snapshot.retry_in = std::max(std::chrono::milliseconds(0),
                                 std::chrono::duration_cast<std::chrono::milliseconds>(left));
  }
  return snapshot;
}

}  // namespace flint::drivers
