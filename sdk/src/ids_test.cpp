#include <algorithm>
#include <cctype>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <flint/sdk/ids.hpp>

namespace flint::sdk {
namespace {

TEST(TimeOrderedId, IsAVersion7UuidInCanonicalForm) {
  const std::string id = new_time_ordered_id();
  ASSERT_EQ(id.size(), 36u);
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      EXPECT_EQ(id[i], '-') << id;
    } else {
      EXPECT_TRUE(std::isxdigit(static_cast<unsigned char>(id[i])) && !std::isupper(id[i])) << id;
    }
  }
  EXPECT_EQ(id[14], '7') << "version nibble: " << id;
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << "variant bits: " << id;
}

TEST(TimeOrderedId, CarriesTheCurrentTimeInMilliseconds) {
  using namespace std::chrono;
  const auto before = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  const std::string id = new_time_ordered_id();
  const auto after = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  const auto stamp =
      static_cast<long long>(std::stoull(id.substr(0, 8) + id.substr(9, 4), nullptr, 16));
  EXPECT_GE(stamp, before);
  EXPECT_LE(stamp, after);
}

TEST(TimeOrderedId, LaterIdsSortAfterEarlierOnes) {
  const std::string first = new_time_ordered_id();
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const std::string second = new_time_ordered_id();
  EXPECT_LT(first, second);
}

TEST(TimeOrderedId, IsUniqueAcrossThreads) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20'000;
  std::vector<std::vector<std::string>> made(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&made, t] {
      for (int i = 0; i < kPerThread; ++i) made[t].push_back(new_time_ordered_id());
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> all;
  for (const auto& ids : made) all.insert(ids.begin(), ids.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace flint::sdk
