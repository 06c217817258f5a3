#include "metrics/series_cache.hpp"

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace flint::metrics {
namespace {

// A cache whose values count the creations.
class SeriesCacheTest : public ::testing::Test {
 protected:
  SeriesCache<int> cache;
  int created = 0;
  std::function<int()> create = [this] { return ++created; };
};

TEST_F(SeriesCacheTest, CreatesOncePerLabelSet) {
  EXPECT_EQ(cache.get(create, std::string_view("noop"), std::string_view("execute")), 1);
  EXPECT_EQ(cache.get(create, std::string_view("noop"), std::string_view("execute")), 1);
  EXPECT_EQ(cache.get(create, std::string_view("noop"), std::string_view("find")), 2);
  EXPECT_EQ(created, 2);
}

TEST_F(SeriesCacheTest, KeepsLabelSetsApartWhereverTheirTextSplits) {
  EXPECT_EQ(cache.get(create, std::string_view("a b"), std::string_view("c")), 1);
  EXPECT_EQ(cache.get(create, std::string_view("a"), std::string_view("b c")), 2);
  EXPECT_EQ(cache.get(create, std::string_view(""), std::string_view("ab")), 3);
  EXPECT_EQ(cache.get(create, std::string_view("ab"), std::string_view("")), 4);
}

TEST_F(SeriesCacheTest, TellsLongLabelSetsApartBeyondTheStackBuffer) {
  const std::string long_name(300, 'd');
  EXPECT_EQ(cache.get(create, std::string_view(long_name), std::string_view("execute")), 1);
  EXPECT_EQ(cache.get(create, std::string_view(long_name), std::string_view("find")), 2);
  EXPECT_EQ(cache.get(create, std::string_view(long_name), std::string_view("execute")), 1);
}

TEST_F(SeriesCacheTest, TakesNumbersAsLabelValues) {
  EXPECT_EQ(cache.get(create, std::string_view("/health"), 200U), 1);
  EXPECT_EQ(cache.get(create, std::string_view("/health"), 503U), 2);
  EXPECT_EQ(cache.get(create, std::string_view("/health"), std::string_view("200")), 1);
}

TEST(SeriesCacheConcurrency, ConcurrentCallersShareOneValuePerKey) {
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
