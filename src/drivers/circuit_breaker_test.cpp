#include "drivers/circuit_breaker.hpp"

#include <gtest/gtest.h>

namespace flint::drivers {
namespace {

using namespace std::chrono_literals;

struct FakeClock {
  CircuitBreaker::Clock::time_point now{};
  std::function<CircuitBreaker::Clock::time_point()> source() {
    return [this] { return now; };
  }
};

class CircuitBreakerTest : public ::testing::Test {
 protected:
  FakeClock clock;
  std::vector<std::pair<BreakerState, BreakerState>> transitions;
  CircuitBreaker breaker{
      {.failure_threshold = 3, .open_duration = 10s, .now = clock.source()},
      [this](BreakerState from, BreakerState to) { transitions.emplace_back(from, to); }};
};

TEST_F(CircuitBreakerTest, OpensAfterConsecutiveFailuresOnly) {
  for (int i = 0; i < 2; ++i) {
    ASSERT_FALSE(breaker.admit());
    breaker.record_failure("boom");
  }
  breaker.record_success();  // the streak starts again
  for (int i = 0; i < 2; ++i) breaker.record_failure("boom");
  EXPECT_EQ(breaker.snapshot().state, BreakerState::closed);
  breaker.record_failure("third in a row");
  const auto snapshot = breaker.snapshot();
  EXPECT_EQ(snapshot.state, BreakerState::open);
  EXPECT_EQ(snapshot.consecutive_failures, 3u);
  EXPECT_EQ(snapshot.last_failure, "third in a row");
  EXPECT_EQ(snapshot.retry_in, 10s);
  ASSERT_EQ(transitions.size(), 1u);
  EXPECT_EQ(transitions[0], std::pair(BreakerState::closed, BreakerState::open));
}

TEST_F(CircuitBreakerTest, RefusesWhileOpenThenLetsOneProbeThrough) {
  for (int i = 0; i < 3; ++i) breaker.record_failure("down");
  const auto refusal = breaker.admit();
  ASSERT_TRUE(refusal);
  EXPECT_NE(refusal->reason.find("circuit breaker open after 3 consecutive failures (last: down)"),
            std::string::npos)
      << refusal->reason;
  EXPECT_NE(refusal->reason.find("next attempt in 10000 ms"), std::string::npos) << refusal->reason;
  EXPECT_EQ(refusal->retry_in, 10s);
  clock.now += 10s;
  EXPECT_FALSE(breaker.admit()) << "the probe goes through";
  EXPECT_EQ(breaker.snapshot().state, BreakerState::half_open);
  EXPECT_TRUE(breaker.admit()) << "only one probe at a time";
  EXPECT_EQ(breaker.snapshot().rejected, 2u);
  breaker.record_success();
  EXPECT_EQ(breaker.snapshot().state, BreakerState::closed);
  EXPECT_FALSE(breaker.admit());
  EXPECT_EQ(transitions.back(), std::pair(BreakerState::half_open, BreakerState::closed));
}

TEST_F(CircuitBreakerTest, SaysHowLongItsTargetWasLeftQuiet) {
  clock.now += 5s;
  EXPECT_EQ(breaker.snapshot().idle_for, 5s) << "since it was made";
  breaker.record_failure("down");
  clock.now += 2s;
  EXPECT_EQ(breaker.snapshot().idle_for, 2s);
  EXPECT_FALSE(breaker.admit());
  EXPECT_EQ(breaker.snapshot().idle_for, 0s) << "a call asked for is use too";
}

TEST_F(CircuitBreakerTest, AFailedProbeOpensItAgain) {
  for (int i = 0; i < 3; ++i) breaker.record_failure("down");
  clock.now += 10s;
  ASSERT_FALSE(breaker.admit());
  breaker.record_failure("still down");
  const auto snapshot = breaker.snapshot();
  EXPECT_EQ(snapshot.state, BreakerState::open);
  EXPECT_EQ(snapshot.times_opened, 2u);
  EXPECT_TRUE(breaker.admit());
}

TEST_F(CircuitBreakerTest, AProbeThatNeverReportsIsReplaced) {
  for (int i = 0; i < 3; ++i) breaker.record_failure("down");
  clock.now += 10s;
  ASSERT_FALSE(breaker.admit());  // this probe is lost (its call was dropped)
  clock.now += 5s;
  EXPECT_TRUE(breaker.admit());
  clock.now += 5s;
  EXPECT_FALSE(breaker.admit()) << "a new probe after open_duration";
}

TEST_F(CircuitBreakerTest, AnAbandonedProbeLetsTheNextCallProbeAtOnce) {
  for (int i = 0; i < 3; ++i) breaker.record_failure("down");
  std::uint64_t probe = 99;
  EXPECT_TRUE(breaker.admit(&probe));
  EXPECT_EQ(probe, 0u) << "refused: no probe";
  clock.now += 10s;
  ASSERT_FALSE(breaker.admit(&probe));
  ASSERT_NE(probe, 0u);
  std::uint64_t other = 99;
  EXPECT_TRUE(breaker.admit(&other)) << "one probe at a time";
  EXPECT_EQ(other, 0u);
  // The probe's call never reached the target (refused before the driver ran).
  breaker.abandon_probe(probe);
  const auto snapshot = breaker.snapshot();
  EXPECT_EQ(snapshot.state, BreakerState::half_open);
  EXPECT_EQ(snapshot.consecutive_failures, 3u) << "neither a success nor a failure";
  std::uint64_t next = 0;
  EXPECT_FALSE(breaker.admit(&next)) << "the next call probes without waiting open_duration";
  EXPECT_NE(next, probe);
  breaker.record_success();
  EXPECT_EQ(breaker.snapshot().state, BreakerState::closed);
}

TEST_F(CircuitBreakerTest, AbandoningAProbeThatReportedOrWasReplacedChangesNothing) {
  for (int i = 0; i < 3; ++i) breaker.record_failure("down");
  clock.now += 10s;
  std::uint64_t first = 0;
  ASSERT_FALSE(breaker.admit(&first));
  breaker.record_failure("still down");  // its outcome: open again
  breaker.abandon_probe(first);
  EXPECT_EQ(breaker.snapshot().state, BreakerState::open);
  EXPECT_TRUE(breaker.admit());
  clock.now += 10s;
  std::uint64_t second = 0;
  ASSERT_FALSE(breaker.admit(&second));
  breaker.abandon_probe(first);  // a late report of the old probe
  EXPECT_TRUE(breaker.admit()) << "the second probe still holds the slot";
  breaker.abandon_probe(0);  // a call admitted while closed
  EXPECT_TRUE(breaker.admit());
  breaker.record_success();
  breaker.abandon_probe(second);
  EXPECT_EQ(breaker.snapshot().state, BreakerState::closed);
  std::uint64_t none = 99;
  EXPECT_FALSE(breaker.admit(&none));
  EXPECT_EQ(none, 0u) << "closed: calls are no probes";
}

TEST(CircuitBreaker, ThresholdZeroNeverOpens) {
  CircuitBreaker breaker({.failure_threshold = 0});
  for (int i = 0; i < 100; ++i) breaker.record_failure("down");
  EXPECT_FALSE(breaker.admit());
  EXPECT_EQ(breaker.snapshot().state, BreakerState::closed);
}

}  // namespace
}  // namespace flint::drivers
