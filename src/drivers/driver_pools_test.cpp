#include "drivers/driver_pools.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "drivers/thread_limit_testing.hpp"
#include "logging/thread_name.hpp"

namespace flint::drivers {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

DriverExecutor::Call call(std::string_view driver) {
  return {driver, "op", Clock::now() + 10s};
}

class DriverPoolsTest : public ::testing::Test {
 protected:
  prometheus::Registry registry_;
  DriverCallProbe probe_{registry_};
};

TEST_F(DriverPoolsTest, WithoutDedicatedThreadsEveryDriverSharesOnePool) {
  DriverPools pools({.threads = 2, .queue_size = 4}, {}, probe_);
  EXPECT_EQ(&pools.for_driver("a"), &pools.shared());
  EXPECT_EQ(&pools.for_driver("b"), &pools.shared());
  int dedicated = 0;
  pools.for_each_dedicated([&](std::string_view, const DriverExecutor&) { ++dedicated; });
  EXPECT_EQ(dedicated, 0);
}

TEST_F(DriverPoolsTest, ADriverWithThreadsOfItsOwnRunsThere) {
  DriverPools pools({.threads = 2, .queue_size = 4}, {{"slow", 3}}, probe_);
  DriverExecutor& slow = pools.for_driver("slow");
  EXPECT_NE(&slow, &pools.shared());
  EXPECT_EQ(slow.options().threads, 3u);
  EXPECT_EQ(slow.options().queue_size, 4u);  // the shared pool's
  EXPECT_EQ(&pools.for_driver("other"), &pools.shared());

  std::promise<std::string> name;
  ASSERT_TRUE(slow.submit(call("slow"), [&] { name.set_value(logging::current_thread_name()); }));
  EXPECT_TRUE(name.get_future().get().starts_with("drv.slow-"));  // one of its threads
}

TEST_F(DriverPoolsTest, ADriverThatHangsHoldsOnlyItsOwnThreads) {
  // One shared thread and one of the hanging driver's own, with room for one
  // queued call each: the hanging driver fills its pool and is refused, and
  // another driver's call still runs at once.
  DriverPools pools({.threads = 1, .queue_size = 1}, {{"hangs", 1}}, probe_);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> started{0};
  // Released however the test ends: a pool's destructor waits for its calls.
  struct Release {
    std::promise<void>& promise;
    ~Release() { promise.set_value(); }
  } release_at_end{release};
  const auto hang = [&, released] {
    ++started;
    released.wait();
  };
  ASSERT_TRUE(pools.for_driver("hangs").submit(call("hangs"), hang));
  while (started.load() == 0) std::this_thread::yield();
  ASSERT_TRUE(pools.for_driver("hangs").submit(call("hangs"), hang));   // queued
  EXPECT_FALSE(pools.for_driver("hangs").submit(call("hangs"), hang));  // its queue is full

  std::promise<void> ran;
  ASSERT_TRUE(pools.for_driver("other").submit(call("other"), [&] { ran.set_value(); }));
  EXPECT_EQ(ran.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_EQ(started.load(), 1);  // the other still waits in the hanging driver's queue
  EXPECT_GE(pools.running(), 1u);
}

// The pool whose threads cannot start is named by its key (the executor's
// own test covers the threads already started).
TEST_F(DriverPoolsTest, APoolThatCannotStartIsNamedByItsKey) {
  if (!testing::can_limit_threads()) GTEST_SKIP() << "needs root to run the child as nobody";
  const auto start_under_limit = [this] {
    testing::limit_threads_to_about_three();
    try {
      DriverPools pools({.threads = 1, .queue_size = 1}, {{"acme", 64}}, probe_);
    } catch (const std::runtime_error& e) {
      std::fprintf(stderr, "%s\n", e.what());
      std::_Exit(0);
    }
    std::_Exit(5);
  };
  EXPECT_EXIT(start_under_limit(), ::testing::ExitedWithCode(0),
              "^driver_calls.dedicated_threads.acme: cannot start driver thread [0-9]+ of 64: ");
}

}  // namespace
}  // namespace flint::drivers
