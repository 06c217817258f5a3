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

TEST(TimeOrderedId, IsRecognisedAsSuch) {
  const std::string id = new_time_ordered_id();
  EXPECT_TRUE(is_canonical_uuid(id)) << id;
  EXPECT_TRUE(is_time_ordered_id(id)) << id;
}

TEST(CanonicalUuid, AcceptsOnlyLowerCase8_4_4_4_12Hex) {
  EXPECT_TRUE(is_canonical_uuid("3f2b8c1e-5d6a-4b7c-8d9e-0f1a2b3c4d5e"));
  EXPECT_FALSE(is_canonical_uuid("3F2B8C1E-5D6A-4B7C-8D9E-0F1A2B3C4D5E"));
  EXPECT_FALSE(is_canonical_uuid("3f2b8c1e5d6a4b7c8d9e0f1a2b3c4d5e"));
  EXPECT_FALSE(is_canonical_uuid("3f2b8c1e-5d6a-4b7c-8d9e-0f1a2b3c4d5"));
  EXPECT_FALSE(is_canonical_uuid("../../../../etc/passwd-000000000000"));
  EXPECT_FALSE(is_canonical_uuid("3f2b8c1e-5d6a-4b7c-8d9e-0f1a2b3c4d5g"));
  EXPECT_FALSE(is_canonical_uuid(""));
}

TEST(TimeOrderedIdCheck, NeedsVersion7AndTheRfcVariant) {
  EXPECT_TRUE(is_time_ordered_id("01936b2e-8c4a-7d3f-9a1b-2c3d4e5f6a7b"));
  EXPECT_TRUE(is_time_ordered_id("01936b2e-8c4a-7d3f-bfff-2c3d4e5f6a7b"));
  EXPECT_FALSE(is_time_ordered_id("01936b2e-8c4a-4d3f-9a1b-2c3d4e5f6a7b"));  // version 4
  EXPECT_FALSE(is_time_ordered_id("01936b2e-8c4a-7d3f-1a1b-2c3d4e5f6a7b"));  // NCS variant
  EXPECT_FALSE(is_time_ordered_id("01936B2E-8C4A-7D3F-9A1B-2C3D4E5F6A7B"));  // not canonical
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

TEST(UnusableRequestId, SaysWhyTheHostWouldRefuseAnId) {
  EXPECT_EQ(unusable_request_id(new_time_ordered_id()), "");
  EXPECT_EQ(unusable_request_id("job-42.a_b~c"), "");
  EXPECT_EQ(unusable_request_id(std::string(256, 'x')), "");
  EXPECT_EQ(unusable_request_id(""), "it is empty");
  EXPECT_EQ(unusable_request_id(std::string(257, 'x')), "it is longer than 256 bytes");
  for (const std::string& id :
       std::initializer_list<std::string>{"a b", "a/b", "a?b", "a#b", "a%b", "a\"b", "a\\b",
                                          "caf\xc3\xa9", std::string("a\0b", 3)}) {
    EXPECT_NE(unusable_request_id(id), "") << id;
  }
}

}  // namespace
}  // namespace flint::sdk
