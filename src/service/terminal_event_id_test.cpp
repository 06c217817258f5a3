#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "security/digest.hpp"
#include "service/lifecycle_monitor.hpp"

namespace flint::service {
namespace {

std::string id_of(std::string_view request_id) {
  return LifecycleMonitor::terminal_event_id(request_id);
}

void expect_uuid_v8(const std::string& id) {
  ASSERT_EQ(id.size(), 36u) << id;
  EXPECT_EQ(id[8], '-');
  EXPECT_EQ(id[13], '-');
  EXPECT_EQ(id[18], '-');
  EXPECT_EQ(id[23], '-');
  EXPECT_EQ(id[14], '8') << id;
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
}

TEST(TerminalEventId, IsTheSameForTheSameRequestAndDiffersOtherwise) {
  const std::string request = "01936b2e-8c4a-7d3f-9a1b-2c3d4e5f6a7b";
  EXPECT_EQ(id_of(request), id_of(request));
  EXPECT_NE(id_of(request), id_of("01936b2e-8c4a-7d3f-9a1b-2c3d4e5f6a7c"));
  EXPECT_NE(id_of("driver-request-1"), id_of("driver-request-2"));
}

TEST(TerminalEventId, NeverChangesAcrossVersions) {
  // Consumers deduplicate redelivered events by this id, across upgrades:
  // these values were computed by the first implementation.
  EXPECT_EQ(id_of("01936b2e-8c4a-7d3f-9a1b-2c3d4e5f6a7b"), "01936b2e-8c4a-8c49-83f5-36511c8c7908");
  EXPECT_EQ(id_of("driver-request-1"), "c66a8be3-fc97-8792-92fe-e4c28a1440e7");
}

TEST(TerminalEventId, KeepsTheTimeOfAVersion7RequestId) {
  const std::string id = id_of("01936b2e-8c4a-7d3f-9a1b-2c3d4e5f6a7b");
  expect_uuid_v8(id);
  EXPECT_EQ(id.substr(0, 13), "01936b2e-8c4a");
  // Executions accepted later have later event ids, so the log's index of
  // ids grows at its end.
  EXPECT_LT(id, id_of("01936b2e-8c4b-7000-8000-000000000000"));
  EXPECT_LT(id_of("01936b2e-8c4b-7fff-bfff-ffffffffffff"),
            id_of("01936b2f-0000-7000-8000-000000000000"));
}

TEST(TerminalEventId, IsAPlainHashForAnyOtherRequestId) {
  // Unchanged from earlier releases: the SHA-256 of topic and request id,
  // with the version and variant set.
  for (const std::string request :
       {"3f2b8c1e-5d6a-4b7c-8d9e-0f1a2b3c4d5e", "my-request-42",
        "01936B2E-8C4A-7D3F-9A1B-2C3D4E5F6A7B", "01936b2e-8c4a-7d3f-1a1b-2c3d4e5f6a7b", ""}) {
    const std::string id = id_of(request);
    expect_uuid_v8(id);
    std::string hex =
        security::sha256_hex(fmt::format("{}\n{}", LifecycleMonitor::kTopic, request));
    EXPECT_EQ(id.substr(0, 8), hex.substr(0, 8)) << request;
    EXPECT_EQ(id.substr(9, 4), hex.substr(8, 4)) << request;
    EXPECT_EQ(id.substr(24, 12), hex.substr(20, 12)) << request;
  }
}

}  // namespace
}  // namespace flint::service
