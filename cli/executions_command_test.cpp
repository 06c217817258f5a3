#include "executions_command.hpp"

#include <sstream>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_http_server.hpp"

namespace flint::cli {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

boost::json::object record(const std::string& id, const std::string& accepted_at,
                           const char* tenant = nullptr) {
  boost::json::object r{{"requestId", id},
                        {"driver", "noop"},
                        {"lifecycleName", "Create"},
                        {"tenantId", tenant ? boost::json::value(tenant) : nullptr},
                        {"status", "IN_PROGRESS"},
                        {"outputs", boost::json::object{}},
                        {"associatedTopology", boost::json::object{}},
                        {"monitoring", "active"},
                        {"acceptedAt", accepted_at},
                        {"completedAt", nullptr},
                        {"deliveredAt", nullptr},
                        {"transitions", boost::json::array{boost::json::object{
                                            {"status", "IN_PROGRESS"}, {"at", accepted_at}}}}};
  return r;
}

TEST(ExecutionsCommand, ReadsTheServersTimesAndNothingElse) {
  const auto at = parse_record_time("2026-12-07T10:32:23.660Z");
  ASSERT_TRUE(at);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(at->time_since_epoch()).count(),
            1796639543660);
  for (const char* bad :
       {"", "2026-12-07T10:32:23Z", "2026-13-07T10:32:23.660Z", "2026-02-30T10:32:23.660Z",
        "2026-12-07T24:00:00.000Z", "2026-12-07 10:32:23.660Z", "2026-12-07T10:32:23.66xZ",
        "2026-12-07T10:32:23.660+"}) {
    EXPECT_FALSE(parse_record_time(bad)) << bad;
  }
}

TEST(ExecutionsCommand, AgesShowTheTwoLargestUnits) {
  EXPECT_EQ(format_age(-5s), "0s");
  EXPECT_EQ(format_age(999ms), "0s");
  EXPECT_EQ(format_age(42s), "42s");
  EXPECT_EQ(format_age(3min + 2s), "3m02s");
  EXPECT_EQ(format_age(2h + 5min + 59s), "2h05m");
  EXPECT_EQ(format_age(24h * 4 + 3h + 1min), "4d03h");
}

TEST(ExecutionsCommand, TableHasOneAlignedRowPerRecord) {
  const auto now = *parse_record_time("2026-12-07T10:35:00.000Z");
  EXPECT_EQ(format_executions_table(
                {record("r-1", "2026-12-07T10:32:23.660Z", "t1"),
                 record("request-2", "2026-12-07T10:34:59.000Z"), record("r-3", "garbled")},
                now),
            "REQUEST ID  LIFECYCLE  DRIVER  TENANT  ACCEPTED                  AGE\n"
            "r-1         Create     noop    t1      2026-12-07T10:32:23.660Z  2m36s\n"
            "request-2   Create     noop    -       2026-12-07T10:34:59.000Z  1s\n"
            "r-3         Create     noop    -       garbled                   ?\n");
}

TEST(ExecutionsCommand, RecordShowsTheOutcomeAndItsHistory) {
  auto failed = record("r-1", "2026-12-07T10:32:23.660Z", "t1");
  failed["status"] = "FAILED";
  failed["failureDetails"] = {{"failureCode", "INFRASTRUCTURE_ERROR"}, {"description", "refused"}};
  failed["outputs"] = {{"partial", true}};
  failed["monitoring"] = "complete";
  failed["completedAt"] = "2026-12-07T10:32:24.000Z";
  failed["transitions"].as_array().push_back(
      {{"status", "FAILED"}, {"at", "2026-12-07T10:32:24.000Z"}});
  EXPECT_EQ(
      format_execution_record(failed),
      "requestId:      r-1\n"
      "lifecycleName:  Create\n"
      "driver:         noop\n"
      "tenantId:       t1\n"
      "status:         FAILED\n"
      "failureCode:    INFRASTRUCTURE_ERROR\n"
      "description:    refused\n"
      "monitoring:     complete\n"
      "acceptedAt:     2026-12-07T10:32:23.660Z\n"
      "completedAt:    2026-12-07T10:32:24.000Z\n"
      "deliveredAt:    -\n"
      "transitions:    IN_PROGRESS 2026-12-07T10:32:23.660Z, FAILED 2026-12-07T10:32:24.000Z\n"
      "outputs: {\n"
      "  \"partial\": true\n"
      "}\n"
      "associatedTopology: {}\n");
}

class ExecutionsCommandRun : public ::testing::Test {
 protected:
  int run(const std::string& url, std::size_t limit = 1000, bool json = false,
          const std::string& request_id = "") {
    ExecutionsOptions options;
    options.server.url = url;
    options.limit = limit;
    options.json = json;
    options.request_id = request_id;
    out_.str("");
    err_.str("");
    return run_executions_command(options, out_, err_);
  }
  std::ostringstream out_;
  std::ostringstream err_;
};

// A server holding `count` executions in flight, r-0 the oldest, serving
// pages as Flint does (`next` is the last id of a full page).
testing::FakeHttpServer::Handler listing_of(int count) {
  return [count](const testing::RecordedRequest& request) -> testing::FakeReply {
    const std::string prefix = "/api/driver/lifecycle/executions?limit=";
    if (!request.target.starts_with(prefix)) return {404, R"({"localizedMessage":"no"})"};
    const std::string query = request.target.substr(prefix.size());
    const int limit = std::stoi(query);
    int first = 0;
    if (const auto after = query.find("&after=r-"); after != std::string::npos) {
      first = std::stoi(query.substr(after + 9)) + 1;
    }
    boost::json::array page;
    for (int i = first; i < count && static_cast<int>(page.size()) < limit; ++i) {
      page.push_back(record("r-" + std::to_string(i), "2026-12-07T10:32:23.660Z"));
    }
    const int last = first + static_cast<int>(page.size()) - 1;
    boost::json::value next = nullptr;
    if (last + 1 < count) next = "r-" + std::to_string(last);
    return {200, boost::json::serialize(boost::json::object{{"executions", page}, {"next", next}})};
  };
}

TEST_F(ExecutionsCommandRun, ListsEveryPageUpToTheLimit) {
  testing::FakeHttpServer server(listing_of(1203));
  ASSERT_EQ(run(server.url()), 0) << err_.str();
  std::istringstream lines(out_.str());
  std::string line;
  std::vector<std::string> ids;
  while (std::getline(lines, line)) ids.push_back(line.substr(0, line.find(' ')));
  ASSERT_EQ(ids.size(), 1001u);  // the header and the default limit
  EXPECT_EQ(ids[0], "REQUEST");
  EXPECT_EQ(ids[1], "r-0");
  EXPECT_EQ(ids[1000], "r-999");
  EXPECT_EQ(err_.str(), "flint: more executions are in progress than --limit 1000 shows\n");
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].target, "/api/driver/lifecycle/executions?limit=500");
  EXPECT_EQ(requests[1].target, "/api/driver/lifecycle/executions?limit=500&after=r-499");

  // All of them, as JSON lines; the last page is asked for what is left.
  ASSERT_EQ(run(server.url(), 2000, true), 0) << err_.str();
  EXPECT_EQ(err_.str(), "");
  std::istringstream json_lines(out_.str());
  int count = 0;
  while (std::getline(json_lines, line)) {
    EXPECT_EQ(boost::json::parse(line).at("requestId").as_string(), "r-" + std::to_string(count));
    ++count;
  }
  EXPECT_EQ(count, 1203);

  ASSERT_EQ(run(server.url(), 2), 0);
  EXPECT_EQ(server.requests().back().target, "/api/driver/lifecycle/executions?limit=2");
}

TEST_F(ExecutionsCommandRun, NothingInFlightIsSaidOnStderr) {
  testing::FakeHttpServer server(listing_of(0));
  EXPECT_EQ(run(server.url()), 0);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(), "flint: no execution is in progress on " + server.url() + "\n");
}

TEST_F(ExecutionsCommandRun, AnErrorReplyIsAnError) {
  testing::FakeHttpServer server([](const testing::RecordedRequest&) -> testing::FakeReply {
    return {500, R"({"localizedMessage":"the execution records cannot be read","status":500})"};
  });
  EXPECT_EQ(run(server.url()), 2);
  EXPECT_EQ(err_.str(),
            "flint: GET /api/driver/lifecycle/executions: 500: the execution records cannot be "
            "read\n");
  EXPECT_EQ(out_.str(), "");
}

TEST_F(ExecutionsCommandRun, ShowsOneRecordOrSaysItIsUnknown) {
  testing::FakeHttpServer server([](const testing::RecordedRequest& request) -> testing::FakeReply {
    if (request.target == "/api/driver/lifecycle/executions/r%20known") {
      return {200, boost::json::serialize(record("r known", "2026-12-07T10:32:23.660Z"))};
    }
    if (request.target == "/api/driver/lifecycle/executions/gone") {
      return {400, R"({"localizedMessage":"requestId: no execution with id 'gone'","status":400})"};
    }
    return {404, R"({"localizedMessage":"no route","status":404})"};
  });
  EXPECT_EQ(run(server.url(), 1000, false, "r known"), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("requestId:      r known\n"));
  EXPECT_EQ(run(server.url(), 1000, true, "r known"), 0);
  EXPECT_EQ(boost::json::parse(out_.str()), record("r known", "2026-12-07T10:32:23.660Z"));

  EXPECT_EQ(run(server.url(), 1000, false, "gone"), 1);
  EXPECT_EQ(out_.str(), "");
  EXPECT_THAT(err_.str(), HasSubstr("flint: no execution with id gone on "));

  // A server without the Resource Driver API is not a "no such execution".
  EXPECT_EQ(run(server.url(), 1000, false, "other"), 2);
  EXPECT_THAT(err_.str(), HasSubstr("404: no route (this server serves no Resource Driver API"));
}

}  // namespace
}  // namespace flint::cli
