#include "metrics/series_cache.hpp"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace flint::metrics {
namespace {

TEST(SeriesCache, CreatesOncePerLabelSet) {
  SeriesCache<int> cache;
  int created = 0;
  const auto create = [&] { return ++created; };
  EXPECT_EQ(cache.get(create, std::string_view("noop"), std::string_view("execute")), 1);
  EXPECT_EQ(cache.get(create, std::string_view("noop"), std::string_view("execute")), 1);
  EXPECT_EQ(cache.get(create, std::string_view("noop"), std::string_view("find")), 2);
  EXPECT_EQ(created, 2);
}

TEST(SeriesCache, KeepsLabelSetsApartWhereverTheirTextSplits) {
  SeriesCache<int> cache;
  int created = 0;
  const auto create = [&] { return ++created; };
  EXPECT_EQ(cache.get(create, std::string_view("a b"), std::string_view("c")), 1);
  EXPECT_EQ(cache.get(create, std::string_view("a"), std::string_view("b c")), 2);
  EXPECT_EQ(cache.get(create, std::string_view(""), std::string_view("ab")), 3);
  EXPECT_EQ(cache.get(create, std::string_view("ab"), std::string_view("")), 4);
}

TEST(SeriesCache, TellsLongLabelSetsApartBeyondTheStackBuffer) {
  SeriesCache<int> cache;
  int created = 0;
  const auto create = [&] { return ++created; };
  const std::string long_name(300, 'd');
  EXPECT_EQ(cache.get(create, std::string_view(long_name), std::string_view("execute")), 1);
  EXPECT_EQ(cache.get(create, std::string_view(long_name), std::string_view("find")), 2);
  EXPECT_EQ(cache.get(create, std::string_view(long_name), std::string_view("execute")), 1);
}

TEST(SeriesCache, TakesNumbersAsLabelValues) {
  SeriesCache<int> cache;
  int created = 0;
  const auto create = [&] { return ++created; };
  EXPECT_EQ(cache.get(create, std::string_view("/health"), 200U), 1);
  EXPECT_EQ(cache.get(create, std::string_view("/health"), 503U), 2);
  EXPECT_EQ(cache.get(create, std::string_view("/health"), std::string_view("200")), 1);
}

TEST(SeriesCache, ConcurrentCallersShareOneValuePerKey) {
  SeriesCache<int> cache;
  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        cache.get([&] { return ++created; }, std::string_view("noop"),
                  std::string_view(i % 2 ? "execute" : "find"));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(created.load(), 2);
}

}  // namespace
}  // namespace flint::metrics
