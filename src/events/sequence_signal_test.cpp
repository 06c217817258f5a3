#include "events/sequence_signal.hpp"

#include <optional>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <gtest/gtest.h>

namespace flint::events {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

TEST(SequenceSignalTest, NeverGoesBackwards) {
  SequenceSignal signal(5);
  signal.advance(3);
  EXPECT_EQ(signal.value(), 5);
  signal.advance(7);
  EXPECT_EQ(signal.value(), 7);
}

TEST(SequenceSignalTest, WakesOnlyTheWaitersItSatisfies) {
  SequenceSignal signal(0);
  asio::io_context io;
  std::optional<bool> low;
  std::optional<bool> high;
  const auto deadline = std::chrono::steady_clock::now() + 300ms;
  asio::co_spawn(
      asio::make_strand(io),
      [&]() -> asio::awaitable<void> { low = co_await signal.wait_beyond(0, deadline); },
      asio::detached);
  asio::co_spawn(
      asio::make_strand(io),
      [&]() -> asio::awaitable<void> { high = co_await signal.wait_beyond(5, deadline); },
      asio::detached);
  io.run_for(50ms);
  EXPECT_EQ(signal.waiters(), 2U);
  signal.advance(1);
  io.run_for(50ms);
  EXPECT_EQ(low, true);
  EXPECT_FALSE(high.has_value());
  EXPECT_EQ(signal.waiters(), 1U);
  io.run();  // until the deadline
  EXPECT_EQ(high, false);
  EXPECT_EQ(signal.waiters(), 0U);
}

TEST(SequenceSignalTest, ADestroyedWaitUnregisters) {
  SequenceSignal signal(0);
  {
    asio::io_context io;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          co_await signal.wait_beyond(0, std::chrono::steady_clock::now() + 1h);
        },
        asio::detached);
    io.run_for(20ms);
    EXPECT_EQ(signal.waiters(), 1U);
  }  // the io_context and the suspended coroutine go away
  EXPECT_EQ(signal.waiters(), 0U);
  signal.advance(1);  // must not touch the dead executor
}

TEST(SequenceSignalTest, ManyThreadsAdvanceWhileOthersWait) {
  SequenceSignal signal(0);
  asio::io_context io;
  constexpr int kWaiters = 64;
  int woken = 0;
  for (int i = 0; i < kWaiters; ++i) {
    asio::co_spawn(
        asio::make_strand(io),
        [&, i]() -> asio::awaitable<void> {
          if (co_await signal.wait_beyond(i, std::chrono::steady_clock::now() + 10s)) ++woken;
        },
        asio::detached);
  }
  std::thread writer([&] {
    for (int v = 1; v <= kWaiters; ++v) {
      signal.advance(v);
      std::this_thread::sleep_for(100us);
    }
  });
  io.run();  // single-threaded: `woken` needs no lock
  writer.join();
  EXPECT_EQ(woken, kWaiters);
}

}  // namespace
}  // namespace flint::events
