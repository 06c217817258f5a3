#include <atomic>
#include <chrono>
#include <latch>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <flint/sdk/target_cache.hpp>

namespace flint::sdk {
namespace {

using namespace std::chrono_literals;
using Cache = TargetCache<std::string>;

// A clock the test moves by hand.
struct FakeClock {
  Cache::Clock::time_point now = Cache::Clock::time_point{} + 1h;
  std::function<Cache::Clock::time_point()> source() {
    return [this] { return now; };
  }
};

// How the driver guide declares a cache: a member with braced options. (g++ 12
// crashed on it while Options::now had a lambda default.)
struct DriverWithACache {
  TargetCache<std::string> sessions{{.expire_after_access = 10min, .max_entries = 256},
                                    [](const std::string&, std::string&) {}};
};

TEST(TargetCache, ADriverMemberWithBracedOptionsUsesTheSteadyClock) {
  DriverWithACache driver;
  const auto before = Cache::Clock::now();
  auto value = driver.sessions.get_or_create("dc-1", [] { return std::string("session"); });
  EXPECT_EQ(*value, "session");
  EXPECT_EQ(driver.sessions.get_or_create("dc-1", [] { return std::string("another"); }), value);
  EXPECT_GE(Cache::Clock::now(), before);
}

// Counts finalizer calls per key.
struct Finalized {
  std::mutex mutex;
  std::map<std::string, int> calls;
  Cache::Finalizer finalizer() {
    return [this](const std::string& key, std::string&) {
      std::lock_guard lock(mutex);
      ++calls[key];
    };
  }
  int count(const std::string& key) {
    std::lock_guard lock(mutex);
    return calls[key];
  }
};

TEST(TargetCache, CreatesOnceAndHandsOutTheSameValue) {
  Cache cache({});
  int created = 0;
  const auto make = [&] { return "connection-" + std::to_string(++created); };
  const auto first = cache.get_or_create("dl-1", make);
  const auto again = cache.get_or_create("dl-1", make);
  const auto other = cache.get_or_create("dl-2", make);
  EXPECT_EQ(first.get(), again.get());
  EXPECT_EQ(*first, "connection-1");
  EXPECT_EQ(*other, "connection-2");
  EXPECT_EQ(created, 2);
  EXPECT_EQ(cache.size(), 2u);
}

TEST(TargetCache, ConcurrentCallersOfOneKeyShareOneCreation) {
  Cache cache({});
  std::atomic<int> created{0};
  std::vector<std::shared_ptr<std::string>> values(8);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < values.size(); ++i) {
    threads.emplace_back([&, i] {
      values[i] = cache.get_or_create("dl-1", [&] {
        std::this_thread::sleep_for(50ms);  // a slow login
        return "session-" + std::to_string(++created);
      });
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(created.load(), 1);
  for (const auto& value : values) EXPECT_EQ(value.get(), values[0].get());
}

TEST(TargetCache, AWaiterGetsTheValueEvenWhenItLeftTheCacheBeforeItWoke) {
  // Over capacity with the other slot still being created, the new value is
  // the only one that can go: it leaves the cache as its creation ends.
  Cache cache({.max_entries = 1});
  std::latch other_may_finish(1);
  std::latch may_finish(1);
  std::thread other([&] {
    cache.get_or_create("dl-2", [&] {
      other_may_finish.wait();
      return std::string("other");
    });
  });
  while (cache.size() < 1) std::this_thread::yield();
  std::shared_ptr<std::string> created;
  std::thread creator([&] {
    created = cache.get_or_create("dl-1", [&] {
      may_finish.wait();
      return std::string("session");
    });
  });
  while (cache.size() < 2) std::this_thread::yield();
  std::shared_ptr<std::string> waited;
  std::thread waiter(
      [&] { waited = cache.get_or_create("dl-1", [] { return std::string("x"); }); });
  std::this_thread::sleep_for(50ms);  // the waiter waits for the creation
  may_finish.count_down();
  creator.join();
  waiter.join();
  other_may_finish.count_down();
  other.join();
  ASSERT_NE(created, nullptr);
  ASSERT_NE(waited, nullptr);  // was null: the eviction had moved the value out
  EXPECT_EQ(*waited, "session");
}

TEST(TargetCache, AFailedCreationReachesItsWaitersAndIsRetriedLater) {
  Cache cache({});
  std::atomic<int> attempts{0};
  const auto failing = [&]() -> std::string {
    ++attempts;
    std::this_thread::sleep_for(30ms);
    throw std::runtime_error("target unreachable");
  };
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      try {
        cache.get_or_create("dl-1", failing);
      } catch (const std::runtime_error& e) {
        if (std::string(e.what()) == "target unreachable") ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 4);
  EXPECT_LE(attempts.load(), 4);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(*cache.get_or_create("dl-1", [] { return std::string("ok"); }), "ok");
}

TEST(TargetCache, AValueInvalidatedWhileBeingCreatedServesItsCallerAndIsNotKept) {
  Finalized finalized;
  Cache cache({}, finalized.finalizer());
  std::atomic<bool> creating{false};
  std::atomic<bool> proceed{false};
  std::shared_ptr<std::string> value;
  std::thread creator([&] {
    value = cache.get_or_create("dl-1", [&] {
      creating = true;
      while (!proceed) std::this_thread::sleep_for(1ms);  // a slow login
      return std::string("old session");
    });
  });
  while (!creating) std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(cache.contains("dl-1"));
  cache.invalidate("dl-1");  // the credentials rotated meanwhile
  proceed = true;
  creator.join();
  EXPECT_EQ(*value, "old session");  // its caller still uses it
  EXPECT_FALSE(cache.contains("dl-1"));
  EXPECT_EQ(finalized.count("dl-1"), 0);
  value.reset();
  EXPECT_EQ(finalized.count("dl-1"), 1);  // closed once its caller let go
  EXPECT_EQ(*cache.get_or_create("dl-1", [] { return std::string("new session"); }), "new session");
}

TEST(TargetCache, AValueExpiresAfterItsCreation) {
  FakeClock clock;
  Finalized finalized;
  Cache cache({.expire_after_create = 10s, .now = clock.source()}, finalized.finalizer());
  int created = 0;
  const auto make = [&] { return "token-" + std::to_string(++created); };
  EXPECT_EQ(*cache.get_or_create("dl-1", make), "token-1");
  clock.now += 9s;
  EXPECT_EQ(*cache.get_or_create("dl-1", make), "token-1");  // use does not extend it
  clock.now += 1s;
  EXPECT_EQ(*cache.get_or_create("dl-1", make), "token-2");
  EXPECT_EQ(finalized.count("dl-1"), 1);
}

TEST(TargetCache, AnIdleValueIsEvictedAndFinalized) {
  FakeClock clock;
  Finalized finalized;
  Cache cache({.expire_after_access = 5s, .now = clock.source()}, finalized.finalizer());
  cache.get_or_create("busy", [] { return std::string("a"); });
  cache.get_or_create("idle", [] { return std::string("b"); });
  for (int i = 0; i < 3; ++i) {
    clock.now += 3s;
    cache.get_or_create("busy", [] { return std::string("never"); });  // keeps it alive
  }
  EXPECT_EQ(cache.evict_expired(), 1u);
  EXPECT_EQ(finalized.count("idle"), 1);
  EXPECT_EQ(finalized.count("busy"), 0);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(TargetCache, TheFinalizerWaitsForTheLastHolder) {
  Finalized finalized;
  Cache cache({}, finalized.finalizer());
  auto held = cache.get_or_create("dl-1", [] { return std::string("connection"); });
  cache.invalidate("dl-1");  // credentials changed
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(finalized.count("dl-1"), 0) << "closed while a call still uses it";
  held.reset();
  EXPECT_EQ(finalized.count("dl-1"), 1);
}

TEST(TargetCache, OverCapacityTheLeastRecentlyUsedGoes) {
  FakeClock clock;
  Finalized finalized;
  Cache cache({.max_entries = 2, .now = clock.source()}, finalized.finalizer());
  const auto make = [] { return std::string("v"); };
  cache.get_or_create("a", make);
  clock.now += 1s;
  cache.get_or_create("b", make);
  clock.now += 1s;
  cache.get_or_create("a", make);  // a is now more recent than b
  clock.now += 1s;
  cache.get_or_create("c", make);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(finalized.count("b"), 1);
  EXPECT_EQ(finalized.count("a"), 0);
}

TEST(TargetCache, DestroyingTheCacheFinalizesEveryValue) {
  Finalized finalized;
  {
    Cache cache({}, finalized.finalizer());
    cache.get_or_create("a", [] { return std::string("1"); });
    cache.get_or_create("b", [] { return std::string("2"); });
  }
  EXPECT_EQ(finalized.count("a"), 1);
  EXPECT_EQ(finalized.count("b"), 1);
}

}  // namespace
}  // namespace flint::sdk
