#include "event_wait.hpp"

#include <chrono>
#include <sstream>

#include <gtest/gtest.h>

#include "fake_http_server.hpp"
#include "http_client.hpp"

namespace flint::cli {
namespace {

using Clock = std::chrono::steady_clock;

TEST(EventWaitTest, ASubSecondTimeoutEndsOnTimeWithoutSpinning) {
  // A server with no event: it answers every long poll at once.
  testing::FakeHttpServer server([](const testing::RecordedRequest&) {
    return testing::FakeReply{200, R"({"events":[],"lastSeq":0})"};
  });
  HttpClient http(parse_base_url(server.url()));
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::milliseconds(500);
  FlintApi api(http, deadline);
  std::ostringstream shown;
  ProgressDisplay progress(shown, false, "Create", "IN_PROGRESS");
  const EventWait wait{.after = 0,
                       .deadline = deadline,
                       .matches = [](const Event&) { return true; },
                       .tick = {},
                       .status_after_reconnect = {}};
  EXPECT_FALSE(wait_for_event(api, wait, progress));
  const auto took = Clock::now() - start;
  EXPECT_GE(took, std::chrono::milliseconds(500));
  EXPECT_LT(took, std::chrono::milliseconds(900));  // not rounded up to a second
  const auto requests = server.requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_NE(requests[0].target.find("&wait=0"), std::string::npos) << requests[0].target;
  EXPECT_LE(requests.size(), 8u);  // a pause between polls, not a spin
}

}  // namespace
}  // namespace flint::cli
