#include "flint_api.hpp"

#include <chrono>
#include <thread>

#include <boost/json/parse.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_http_server.hpp"

namespace flint::cli {
namespace {

using ::testing::HasSubstr;

TEST(ErrorTextTest, PrefersTheLocalizedMessage) {
  EXPECT_EQ(error_text({400, "Bad Request", "application/json",
                        R"({"localizedMessage":"invalid lifecycle name \"X\"","status":400})"}),
            "invalid lifecycle name \"X\"");
  EXPECT_EQ(error_text({502, "Bad Gateway", "text/html", "  <h1>proxy down</h1>\nmore\n"}),
            "<h1>proxy down</h1>");
  EXPECT_EQ(error_text({503, "Service Unavailable", "", ""}), "Service Unavailable");
  EXPECT_EQ(error_text({503, "", "", ""}), "HTTP status 503");
  EXPECT_EQ(error_text({500, "", "", std::string(300, 'e')}), std::string(200, 'e') + "...");
}

TEST(ParseEventsPageTest, ReadsEventsAndLastSeq) {
  const auto page = parse_events_page(boost::json::parse(R"({"events":[
      {"seq":7,"id":"e7","topic":"t","payload":{"requestId":"r1","status":"COMPLETE"}},
      {"seq":9,"id":"e9","payload":{"status":"FAILED"}}],"lastSeq":12})"));
  ASSERT_EQ(page.events.size(), 2u);
  EXPECT_EQ(page.events[0].seq, 7u);
  EXPECT_EQ(page.events[0].request_id, "r1");
  EXPECT_EQ(page.events[0].payload.at("status"), "COMPLETE");
  EXPECT_EQ(page.events[0].raw.at("id"), "e7");
  EXPECT_EQ(page.events[1].request_id, "");
  EXPECT_EQ(page.last_seq, 12u);
  // A page that was cut by the limit continues after its last event.
  const EventLogPosition next = page.next({3, "e3"});
  EXPECT_EQ(next.seq, 9u);
  EXPECT_EQ(next.id, "e9");
}

TEST(ParseEventsPageTest, AnEmptyPageMovesToLastSeq) {
  const auto page = parse_events_page(boost::json::parse(R"({"events":[],"lastSeq":12})"));
  // Moved past events not seen: their id is not known.
  EXPECT_EQ(page.next({3, "e3"}).seq, 12u);
  EXPECT_EQ(page.next({3, "e3"}).id, "");
  EXPECT_EQ(page.next({20, "e20"}).seq, 20u);
  EXPECT_EQ(page.next({20, "e20"}).id, "e20");
}

std::string error_of(std::string_view body) {
  try {
    parse_events_page(boost::json::parse(body));
  } catch (const ApiError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ParseEventsPageTest, NamesTheBadField) {
  EXPECT_EQ(error_of(R"({"events":[]})"), "GET /api/events: lastSeq: missing");
  EXPECT_EQ(error_of(R"({"lastSeq":-1,"events":[]})"),
            "GET /api/events: lastSeq: expected a non-negative integer, got -1");
  EXPECT_EQ(error_of(R"({"lastSeq":1,"events":{}})"), "GET /api/events: events: expected an array");
  EXPECT_EQ(error_of(R"({"lastSeq":1,"events":[{"seq":"1"}]})"),
            "GET /api/events: events[0].seq: expected a non-negative integer, got \"1\"");
  EXPECT_EQ(error_of(R"([])"), "GET /api/events: expected a JSON object");
}

TEST(FlintApiTest, ExecuteSendsTheBodyAndTheTenant) {
  testing::FakeHttpServer server([](const testing::RecordedRequest&) {
    return testing::FakeReply{202,
                              R"({"requestId":"r-1","associatedTopology":{},"version":"1.0.0"})"};
  });
  HttpClient http(parse_base_url(server.url()));
  FlintApi api(http);
  const auto reply = api.execute(boost::json::object{{"lifecycleName", "Create"}}, "tenant-7");
  EXPECT_EQ(reply.at("requestId"), "r-1");
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/api/driver/lifecycle/execute");
  EXPECT_EQ(requests[0].body, R"({"lifecycleName":"Create"})");
  EXPECT_EQ(requests[0].header("tenantId"), "tenant-7");
  EXPECT_EQ(requests[0].header("content-type"), "application/json");
}

TEST(FlintApiTest, AnErrorReplyBecomesApiErrorWithTheMessage) {
  testing::FakeHttpServer server([](const testing::RecordedRequest&) {
    return testing::FakeReply{400, R"({"localizedMessage":"driverFiles: not a zip","status":400})"};
  });
  HttpClient http(parse_base_url(server.url()));
  FlintApi api(http);
  try {
    api.execute(boost::json::object{}, std::nullopt);
    FAIL() << "no error";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400u);
    EXPECT_STREQ(e.what(), "POST /api/driver/lifecycle/execute: 400: driverFiles: not a zip");
  }
}

TEST(FlintApiTest, A401HintsAtTheTokenFileOnlyWhenNoTokenWasSent) {
  testing::FakeHttpServer server([](const testing::RecordedRequest&) {
    return testing::FakeReply{
        401, R"({"localizedMessage":"the bearer token is not accepted","status":401})"};
  });
  const auto message = [&](std::string token) {
    HttpClient http(parse_base_url(server.url()), std::move(token));
    FlintApi api(http);
    try {
      api.events({}, 1, std::chrono::seconds(0));
    } catch (const ApiError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message(""),
            "GET /api/events: 401: the bearer token is not accepted (give the token's file with "
            "--token-file)");
  EXPECT_EQ(message("rotated"), "GET /api/events: 401: the bearer token is not accepted");
}

TEST(FlintApiTest, EventsAndExecutionUseTheirPaths) {
  testing::FakeHttpServer server([](const testing::RecordedRequest& request) {
    if (request.target.starts_with("/api/events")) {
      return testing::FakeReply{200, R"({"events":[],"lastSeq":4})"};
    }
    if (request.target == "/api/driver/lifecycle/executions/r%201") {
      return testing::FakeReply{200, R"({"status":"IN_PROGRESS"})"};
    }
    return testing::FakeReply{400, R"({"localizedMessage":"not found","status":400})"};
  });
  HttpClient http(parse_base_url(server.url() + "/"));
  FlintApi api(http);
  EXPECT_EQ(api.events({3, ""}, 50, std::chrono::seconds(0)).last_seq, 4u);
  EXPECT_EQ(api.execution("r 1")->at("status"), "IN_PROGRESS");
  EXPECT_FALSE(api.execution("unknown"));
  EXPECT_EQ(api.events({3, "a b&c"}, 50, std::chrono::seconds(0)).last_seq, 4u);
  EXPECT_EQ(server.requests()[0].target, "/api/events?after=3&limit=50&wait=0");
  EXPECT_EQ(server.requests()[3].target, "/api/events?after=3&afterId=a%20b%26c&limit=50&wait=0");
}

TEST(FlintApiTest, NoCallOutlastsTheDeadline) {
  // A server that stopped answering (paused, say): each call's own limit
  // (30 s, or a long poll's wait plus slack) is cut to the time left.
  testing::FakeHttpServer server([](const testing::RecordedRequest&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    return testing::FakeReply{200, R"({"events":[],"lastSeq":4})"};
  });
  HttpClient http(parse_base_url(server.url()));
  const auto start = std::chrono::steady_clock::now();
  FlintApi api(http, start + std::chrono::milliseconds(300));
  EXPECT_THROW(api.events({}, 50, std::chrono::seconds(20)), HttpError);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1200));
}

TEST(FlintApiTest, FindReturnsTheResultOrNull) {
  std::string reply = R"({"result":{"resourceId":"x"}})";
  testing::FakeHttpServer server([&](const testing::RecordedRequest&) {
    return testing::FakeReply{200, reply};
  });
  HttpClient http(parse_base_url(server.url()));
  FlintApi api(http);
  EXPECT_EQ(api.find({}).at("resourceId"), "x");
  reply = R"({"result":null})";
  EXPECT_TRUE(api.find({}).is_null());
  reply = R"({"result":3})";
  EXPECT_THROW(api.find({}), ApiError);
  reply = "not json";
  try {
    api.find({});
    FAIL() << "no error";
  } catch (const ApiError& e) {
    EXPECT_THAT(e.what(), HasSubstr("POST /api/driver/references/find: the reply is not JSON"));
  }
}

}  // namespace
}  // namespace flint::cli
