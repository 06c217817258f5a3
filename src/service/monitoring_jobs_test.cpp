#include "service/monitoring_jobs.hpp"

#include <gtest/gtest.h>

namespace flint::service {
namespace {

using namespace std::chrono_literals;
using std::chrono::steady_clock;

TEST(RunningDeadline, IsWhatTheWallClockSaysIsLeftOnTheMonotonicClock) {
  const auto before = steady_clock::now();
  const auto deadline = running_deadline(now_ms() + 60'000, 6h);
  EXPECT_GE(deadline, before + 59s);
  EXPECT_LE(deadline, steady_clock::now() + 60s);
}

TEST(RunningDeadline, IsNeverFurtherThanTheLongestWait) {
  // A clock set back a day while the host was down: the stored deadline looks
  // a day further away than it was ever meant to be.
  const auto deadline = running_deadline(now_ms() + 24 * 3'600'000LL, 6h);
  EXPECT_LE(deadline, steady_clock::now() + 6h);
  EXPECT_GE(deadline, steady_clock::now() + 6h - 1min);
}

TEST(RunningDeadline, APassedDeadlineIsNow) {
  const auto deadline = running_deadline(now_ms() - 1'000, 6h);
  EXPECT_LE(deadline, steady_clock::now());
  EXPECT_GE(deadline, steady_clock::now() - 1min);
}

}  // namespace
}  // namespace flint::service
