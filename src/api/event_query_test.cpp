#include "api/event_query.hpp"

#include <string>

#include <gtest/gtest.h>

#include "api/api_error.hpp"

namespace flint::api {
namespace {

// The 400's message for `target` on GET /api/events, or "" when it is taken.
std::string refusal(std::string_view target) {
  try {
    (void)parse_events_query(target, {});
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), http::Status::bad_request);
    return e.what();
  }
  return "";
}

TEST(EventQuery, ReadsTheListParameters) {
  const auto query = parse_events_query("/api/events?after=7&afterId=e-7&limit=5&wait=3&x=1", {});
  EXPECT_EQ(query.position.after, 7);
  EXPECT_EQ(query.position.seen_id, "e-7");
  EXPECT_EQ(query.limit, 5);
  EXPECT_EQ(query.wait, 3);

  const auto defaults = parse_events_query("/api/events", {});
  EXPECT_EQ(defaults.position.after, 0);
  EXPECT_FALSE(defaults.position.seen_id);
  EXPECT_EQ(defaults.limit, 100);
  EXPECT_EQ(defaults.wait, 0);
}

TEST(EventQuery, RefusesBadParametersNamingThem) {
  EXPECT_EQ(refusal("/api/events?limit=0"), "limit: expected an integer from 1 to 1000");
  EXPECT_EQ(refusal("/api/events?wait=61"),
            "wait: expected an integer number of seconds from 0 to 60");
  EXPECT_EQ(refusal("/api/events?after=+1"),
            "after: expected an integer from 0 to 9223372036854775807");
  EXPECT_EQ(refusal("/api/events?after=9223372036854775808"),
            "after: expected an integer from 0 to 9223372036854775807");
  EXPECT_EQ(refusal("/api/events?limit=1&limit=1"), "limit: given more than once");
  EXPECT_EQ(refusal("/api/events?afterId=e-1"),
            "afterId: needs after >= 1, the sequence number of that event (no event has 0)");
  EXPECT_EQ(refusal("/api/events?after=0&afterId=e-1"),
            "afterId: needs after >= 1, the sequence number of that event (no event has 0)");
  EXPECT_EQ(refusal("/api/events?after=1&afterId="),
            "afterId: expected an event id of 1 to 1024 bytes");
  EXPECT_EQ(refusal("/api/events?after=%zz"), "request target: not a valid path and query");
}

TEST(EventQuery, LastEventIdWinsOverAfterUnlessTheyAgree) {
  const auto agreed = parse_stream_start("/api/events/stream?after=4&afterId=e-4", "4");
  EXPECT_EQ(agreed.after, 4);
  EXPECT_EQ(agreed.seen_id, "e-4");
  const auto resumed = parse_stream_start("/api/events/stream?after=4&afterId=e-4", "9");
  EXPECT_EQ(resumed.after, 9);
  EXPECT_FALSE(resumed.seen_id);
  EXPECT_EQ(parse_stream_start("/api/events/stream?after=4", std::nullopt).after, 4);
  try {
    (void)parse_stream_start("/api/events/stream", "x");
    ADD_FAILURE() << "Last-Event-ID x taken";
  } catch (const ApiError& e) {
    EXPECT_STREQ(e.what(), "Last-Event-ID: expected an integer from 0 to 9223372036854775807");
  }
}

}  // namespace
}  // namespace flint::api
