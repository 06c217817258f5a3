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
  EXPECT_NE(refusal->find("circuit breaker open after 3 consecutive failures (last: down)"),
            std::string::npos)
      << *refusal;
  EXPECT_NE(refusal->find("next attempt in 10000 ms"), std::string::npos) << *refusal;
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

TEST(CircuitBreaker, ThresholdZeroNeverOpens) {
  CircuitBreaker breaker({.failure_threshold = 0});
  for (int i = 0; i < 100; ++i) breaker.record_failure("down");
  EXPECT_FALSE(breaker.admit());
  EXPECT_EQ(breaker.snapshot().state, BreakerState::closed);
}

}  // namespace
}  // namespace flint::drivers
