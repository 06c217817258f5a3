#include "drivers/driver_executor.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <sched.h>

#include "drivers/thread_limit_testing.hpp"

namespace flint::drivers {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class DriverExecutorTest : public ::testing::Test {
 protected:
  // Runs `coroutine` to completion on a single-threaded io_context.
  template <class T>
  T await(boost::asio::awaitable<T> coroutine) {
    auto future = boost::asio::co_spawn(io_, std::move(coroutine), boost::asio::use_future);
    io_.restart();
    io_.run();
    return future.get();
  }

  DriverExecutor::Call call(std::chrono::milliseconds timeout) {
    return {"test", "op", Clock::now() + timeout};
  }

  // flint_driver_calls_total{driver="test",operation="op",outcome=...}.
  double calls(std::string_view outcome) {
    for (const auto& family : registry_.Collect()) {
      if (family.name != "flint_driver_calls_total") continue;
      for (const auto& metric : family.metric) {
        bool match = true;
        for (const auto& label : metric.label) {
          if (label.name == "outcome" && label.value != outcome) match = false;
          if (label.name == "operation" && label.value != "op") match = false;
        }
        if (match) return metric.counter.value;
      }
    }
    return 0;
  }

  static bool eventually(const std::function<bool()>& condition) {
    for (int i = 0; i < 500; ++i) {
      if (condition()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return condition();
  }

  prometheus::Registry registry_;
  DriverCallProbe probe_{registry_};
  boost::asio::io_context io_;
};

TEST_F(DriverExecutorTest, ReturnsTheResultFromADriverThread) {
  DriverExecutor executor({.threads = 2, .queue_size = 4}, probe_);
  const auto caller = std::this_thread::get_id();
  const auto worker =
      await(executor.run<std::thread::id>(call(1s), [] { return std::this_thread::get_id(); }));
  EXPECT_NE(worker, caller);
}

// A queued call must not preempt the network thread that queued it.
TEST_F(DriverExecutorTest, DriverThreadsRunInTheBatchSchedulingClass) {
  DriverExecutor executor({.threads = 1, .queue_size = 4}, probe_);
  EXPECT_EQ(await(executor.run<int>(call(1s), [] { return sched_getscheduler(0); })), SCHED_BATCH);
  EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER);  // the caller's class is its own
}

// Driver threads of this process, by name, from /proc: a sanitizer's runtime
// may run threads of its own.
std::size_t driver_thread_count() {
  std::size_t count = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    if (std::getline(comm, name) && name.rfind("driver-", 0) == 0) ++count;
  }
  return count;
}

// Named for ps, top and the logs (and for the count above).
TEST_F(DriverExecutorTest, DriverThreadsAreNamed) {
  DriverExecutor executor({.threads = 2, .queue_size = 4}, probe_);
  await(executor.run<int>(call(1s), [] { return 0; }));
  await(executor.run<int>(call(1s), [] { return 0; }));
  EXPECT_GE(driver_thread_count(), 1u);
}

// A driver thread that cannot start (here: the limit on processes) is an
// error naming it, with those started joined, not a std::terminate.
TEST_F(DriverExecutorTest, AThreadThatCannotStartIsAnErrorAndStartedOnesAreJoined) {
  if (!testing::can_limit_threads()) GTEST_SKIP() << "needs root to run the child as nobody";
  const auto start_under_limit = [this] {
    testing::limit_threads_to_about_three();
    try {
      DriverExecutor executor({.threads = 64, .queue_size = 1}, probe_);
    } catch (const std::system_error& e) {
      std::fprintf(stderr, "%s\n", e.what());
      const bool again = e.code() == std::errc::resource_unavailable_try_again;
      std::_Exit(again && driver_thread_count() == 0 ? 0 : 4);
    }
    std::_Exit(5);
  };
  EXPECT_EXIT(start_under_limit(), ::testing::ExitedWithCode(0),
              "cannot start driver thread [0-9]+ of 64: ");
}

TEST_F(DriverExecutorTest, RethrowsTheDriversError) {
  DriverExecutor executor({.threads = 1, .queue_size = 4}, probe_);
  EXPECT_THROW(
      await(executor.run<int>(call(1s), []() -> int { throw sdk::RequestNotFoundError("x"); })),
      sdk::RequestNotFoundError);
}

TEST_F(DriverExecutorTest, OverrunningCallYieldsTemporaryErrorAtItsDeadline) {
  DriverExecutor executor({.threads = 1, .queue_size = 4}, probe_);
  const auto started = Clock::now();
  try {
    // Deadlines of 1 s: a driver thread starts within that even on a loaded machine.
    await(executor.run<int>(call(1s), [] {
      std::this_thread::sleep_for(2500ms);
      return 1;
    }));
    FAIL() << "expected a timeout";
  } catch (const sdk::TemporaryDriverError& e) {
    EXPECT_NE(std::string(e.what()).find("did not finish within its deadline"), std::string::npos)
        << e.what();
    EXPECT_NE(dynamic_cast<const CallTimedOut*>(&e), nullptr);
    EXPECT_EQ(dynamic_cast<const CallExpiredInQueue*>(&e), nullptr) << "it started: an overrun";
  }
  EXPECT_LT(Clock::now() - started, 2s);  // answered at the deadline, not when the work ended
}

TEST_F(DriverExecutorTest, ACallWhoseDeadlinePassesInTheQueueNeverStartsAndSaysSo) {
  DriverExecutor executor({.threads = 1, .queue_size = 4}, probe_);
  std::atomic<bool> release{false};
  auto blocker = boost::asio::co_spawn(io_,
                                       executor.run<int>(call(5s),
                                                         [&] {
                                                           while (!release)
                                                             std::this_thread::sleep_for(1ms);
                                                           return 0;
                                                         }),
                                       boost::asio::use_future);
  while (executor.running() == 0) io_.poll(), std::this_thread::sleep_for(1ms);
  std::atomic<bool> ran{false};
  auto waiting = boost::asio::co_spawn(io_,
                                       executor.run<int>(call(50ms),
                                                         [&] {
                                                           ran = true;
                                                           return 1;
                                                         }),
                                       boost::asio::use_future);
  while (waiting.wait_for(0s) != std::future_status::ready) {
    io_.poll();
    std::this_thread::sleep_for(1ms);
  }
  try {
    waiting.get();
    FAIL() << "expected a timeout";
  } catch (const CallExpiredInQueue& e) {
    EXPECT_NE(std::string(e.what()).find("driver call op waited for a driver thread past its "
                                         "deadline and never started: driver calls are saturated"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(calls("expired"), 1);
  EXPECT_EQ(calls("timeout"), 0);
  release = true;
  io_.restart();
  io_.run();
  EXPECT_EQ(blocker.get(), 0);
  executor.shutdown();
  EXPECT_FALSE(ran) << "a call given up on in the queue never runs";
}

TEST_F(DriverExecutorTest, FullQueueRejectsAtOnce) {
  DriverExecutor executor({.threads = 1, .queue_size = 1}, probe_);
  std::atomic<bool> release{false};
  auto blocker = [&] {
    while (!release) std::this_thread::sleep_for(1ms);
    return 0;
  };
  // One call occupies the thread, one fills the queue; the third is refused.
  auto first =
      boost::asio::co_spawn(io_, executor.run<int>(call(5s), blocker), boost::asio::use_future);
  while (executor.running() == 0) io_.poll(), std::this_thread::sleep_for(1ms);
  auto second =
      boost::asio::co_spawn(io_, executor.run<int>(call(5s), blocker), boost::asio::use_future);
  auto third = boost::asio::co_spawn(io_, executor.run<int>(call(5s), [] { return 3; }),
                                     boost::asio::use_future);
  for (int i = 0; i < 1000 && third.wait_for(0s) != std::future_status::ready; ++i) {
    io_.poll();
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_THROW(third.get(), sdk::TemporaryDriverError);
  release = true;
  io_.restart();
  io_.run();
  EXPECT_EQ(first.get(), 0);
  EXPECT_EQ(second.get(), 0);
}

TEST_F(DriverExecutorTest, FastCallCompletesLongBeforeItsDeadline) {
  DriverExecutor executor({.threads = 1, .queue_size = 4}, probe_);
  const auto started = Clock::now();
  EXPECT_EQ(await(executor.run<int>(call(10s), [] { return 7; })), 7);
  EXPECT_LT(Clock::now() - started, 1s);
}

TEST_F(DriverExecutorTest, RunThenEndsWhenFinishedFromAnotherThread) {
  DriverExecutor executor({.threads = 1, .queue_size = 4}, probe_);
  std::jthread finisher;
  const int value = await(executor.run_then<int>(call(5s), [&](DriverExecutor::Finish<int> finish) {
    // The driver thread is free at once; the result comes from elsewhere.
    finisher = std::jthread([finish] {
      std::this_thread::sleep_for(20ms);
      EXPECT_TRUE(finish(42));
      EXPECT_FALSE(finish(43));  // ignored: the first finish counts
    });
  }));
  EXPECT_EQ(value, 42);
}

TEST_F(DriverExecutorTest, RunThenWaitsPastTheDeadlineOnceTheWorkReturned) {
  // The deadline bounds the driver's part; a commit it queued is awaited.
  DriverExecutor executor({.threads = 1, .queue_size = 4}, probe_);
  std::jthread finisher;
  const auto started = Clock::now();
  const int value = await(executor.run_then<int>(call(1s), [&](DriverExecutor::Finish<int> finish) {
    finisher = std::jthread([finish] {
      std::this_thread::sleep_for(1500ms);
      finish(7);
    });
  }));
  EXPECT_EQ(value, 7);
  EXPECT_GE(Clock::now() - started, 1500ms);
}

TEST_F(DriverExecutorTest, RunThenPassesAFailure) {
  DriverExecutor executor({.threads = 1, .queue_size = 4}, probe_);
  EXPECT_THROW(await(executor.run_then<int>(call(5s),
                                            [](DriverExecutor::Finish<int> finish) {
                                              finish.fail(std::make_exception_ptr(
                                                  sdk::TemporaryDriverError("disk full")));
                                            })),
               sdk::TemporaryDriverError);
}

TEST_F(DriverExecutorTest, RunThenWorkOverrunningItsDeadlineTimesOutAndMayStillFinish) {
  DriverExecutor executor({.threads = 1, .queue_size = 4}, probe_);
  std::atomic<bool> finished_late{false};
  std::atomic<bool> taken{true};
  EXPECT_THROW(await(executor.run_then<int>(call(1s),
                                            [&](DriverExecutor::Finish<int> finish) {
                                              std::this_thread::sleep_for(2s);
                                              taken = finish(1);  // nobody waits: dropped
                                              finished_late = true;
                                            })),
               CallTimedOut);
  executor.shutdown();
  EXPECT_TRUE(finished_late);
  EXPECT_FALSE(taken);  // the finisher learns its result went nowhere
}

TEST_F(DriverExecutorTest, SubmitEachRunsTheCallsInOrderOnOneThreadCountingEach) {
  DriverExecutor executor({.threads = 2, .queue_size = 4}, probe_);
  std::mutex mutex;
  std::vector<std::pair<int, std::thread::id>> ran;
  std::vector<std::function<void()>> works;
  for (int i = 0; i < 3; ++i) {
    works.push_back([&, i] {
      {
        std::lock_guard lock(mutex);
        ran.emplace_back(i, std::this_thread::get_id());
      }
      if (i == 1) throw sdk::TemporaryDriverError("busy");
    });
  }
  ASSERT_TRUE(executor.submit_each(call(5s), std::move(works)));
  ASSERT_TRUE(eventually([&] { return calls("ok") + calls("temporary") == 3; }));
  std::lock_guard lock(mutex);
  ASSERT_EQ(ran.size(), 3U);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(ran[i].first, i);
    EXPECT_EQ(ran[i].second, ran[0].second);
  }
  EXPECT_EQ(calls("ok"), 2);
  EXPECT_EQ(calls("temporary"), 1);
}

TEST_F(DriverExecutorTest, SubmitEachRunsEveryCallOfABatchThatStartedInTime) {
  // The deadline bounds the wait in the queue: a slow first call must not
  // cost the later ones their run (after-delivery hooks would be lost).
  DriverExecutor executor({.threads = 1, .queue_size = 4}, probe_);
  std::atomic<int> ran{0};
  std::vector<std::function<void()>> works{[&] {
                                             std::this_thread::sleep_for(1500ms);
                                             ++ran;
                                           },
                                           [&] { ++ran; }};
  ASSERT_TRUE(executor.submit_each(call(1s), std::move(works)));
  ASSERT_TRUE(eventually([&] { return calls("ok") == 2; }));
  EXPECT_EQ(ran.load(), 2);
  EXPECT_EQ(calls("timeout"), 0);
}

TEST_F(DriverExecutorTest, SubmitEachTakenPastItsDeadlineRunsNoneAndSaysSo) {
  DriverExecutor executor({.threads = 1, .queue_size = 4}, probe_);
  std::atomic<bool> release{false};
  ASSERT_TRUE(executor.submit(call(5s), [&] {
    while (!release) std::this_thread::sleep_for(1ms);
  }));
  ASSERT_TRUE(eventually([&] { return executor.running() == 1; }));
  std::atomic<int> ran{0};
  std::atomic<std::size_t> expired{0};
  ASSERT_TRUE(executor.submit_each(call(20ms), {[&] { ++ran; }, [&] { ++ran; }, [&] { ++ran; }},
                                   [&](std::size_t count) { expired = count; }));
  std::this_thread::sleep_for(60ms);
  release = true;
  ASSERT_TRUE(eventually([&] { return expired.load() == 3; }));
  EXPECT_EQ(ran.load(), 0);
  EXPECT_EQ(calls("expired"), 3);
}

TEST_F(DriverExecutorTest, SubmitEachRefusedCountsEveryCallRejected) {
  DriverExecutor executor({.threads = 1, .queue_size = 1}, probe_);
  std::atomic<bool> release{false};
  const auto blocker = [&] {
    while (!release) std::this_thread::sleep_for(1ms);
  };
  ASSERT_TRUE(executor.submit(call(5s), blocker));
  ASSERT_TRUE(eventually([&] { return executor.running() == 1; }));
  ASSERT_TRUE(executor.submit(call(5s), blocker));  // fills the queue
  EXPECT_FALSE(executor.submit_each(call(5s), {[] {}, [] {}, [] {}}));
  EXPECT_EQ(calls("rejected"), 3);
  release = true;
}

// Wake-ups are passed on from worker to worker (one in flight at a time):
// a burst of calls that block must still get a thread each at once.
TEST_F(DriverExecutorTest, ABurstOfBlockingCallsRunsOnAThreadEach) {
  constexpr int kCalls = 8;
  DriverExecutor executor({.threads = kCalls, .queue_size = kCalls}, probe_);
  std::atomic<int> started{0};
  std::atomic<bool> release{false};
  for (int i = 0; i < kCalls; ++i) {
    ASSERT_TRUE(executor.submit(call(5s), [&] {
      ++started;
      while (!release) std::this_thread::sleep_for(1ms);
    }));
  }
  EXPECT_TRUE(eventually([&] { return started == kCalls; })) << started << " running";
  EXPECT_EQ(executor.running(), static_cast<std::size_t>(kCalls));
  release = true;
  EXPECT_TRUE(eventually([&] { return calls("ok") == kCalls; }));
}

// Calls that arrive one by one while earlier ones block each wake a thread.
TEST_F(DriverExecutorTest, ACallArrivingWhileOthersBlockGetsAnIdleThread) {
  DriverExecutor executor({.threads = 4, .queue_size = 4}, probe_);
  std::atomic<bool> release{false};
  for (std::size_t i = 1; i <= 3; ++i) {
    ASSERT_TRUE(executor.submit(call(5s), [&] {
      while (!release) std::this_thread::sleep_for(1ms);
    }));
    ASSERT_TRUE(eventually([&] { return executor.running() == i; })) << i;
  }
  std::atomic<bool> ran{false};
  ASSERT_TRUE(executor.submit(call(5s), [&] { ran = true; }));
  EXPECT_TRUE(eventually([&] { return ran.load(); }));
  release = true;
  EXPECT_TRUE(eventually([&] { return calls("ok") == 4; }));
}

}  // namespace
}  // namespace flint::drivers
