// The client commands against a fake server that speaks the Flint API.

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <boost/json/parse.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "events_command.hpp"
#include "exec_command.hpp"
#include "fake_http_server.hpp"
#include "files/base64.hpp"
#include "find_command.hpp"

namespace flint::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

std::string event(unsigned seq, const std::string& request_id, const std::string& status,
                  const std::string& extra = "") {
  return R"({"seq":)" + std::to_string(seq) + R"(,"id":"e)" + std::to_string(seq) +
         R"(","topic":"lifecycle","key":null,"tenantId":null,"createdAt":"2024-01-01T00:00:00Z",)"
         R"("payload":{"requestId":")" +
         request_id + R"(","status":")" + status + "\"" + extra +
         R"(,"outputs":{"path":"/tmp/x"},"associatedTopology":{"dir":{"id":"d","type":"Directory"}},"version":"1.0.0"}})";
}

class CommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("flint-cli-cmd-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "package" / "scripts");
    std::ofstream(dir_ / "package" / "scripts" / "Create.sh") << "echo hi\n";
    std::ofstream(dir_ / "state.yaml") << "resourceProperties: {flavor: small}\n"
                                          "deploymentLocation: {name: lab, type: Local}\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  ExecOptions exec_options(const std::string& url) {
    ExecOptions options;
    options.lifecycle = "Create";
    options.driver_files = (dir_ / "package").string();
    options.resource_state = (dir_ / "state.yaml").string();
    options.server.url = url;
    options.timeout = "10s";
    return options;
  }

  fs::path dir_;
  std::ostringstream out_;
  std::ostringstream err_;
};

// lastSeq 5; the outcome event arrives on the second long poll, after an
// event of another request.
testing::FakeHttpServer::Handler flow(const std::string& status, std::string extra = "") {
  auto polls = std::make_shared<std::atomic<int>>(0);
  return [=](const testing::RecordedRequest& request) -> testing::FakeReply {
    if (request.target == "/api/events?after=0&limit=1&wait=0") {
      return {200, R"({"events":[],"lastSeq":5})"};
    }
    if (request.target == "/api/driver/lifecycle/execute") {
      return {202, R"({"requestId":"req-1","associatedTopology":{},"version":"1.0.0"})"};
    }
    if (request.target.starts_with("/api/events?after=5&limit=100&wait=")) {
      if (++*polls == 1) return {200, R"({"events":[],"lastSeq":5})"};
      return {200, R"({"events":[)" + event(6, "other", "COMPLETE") + "," +
                       event(7, "req-1", status, extra) + R"(],"lastSeq":7})"};
    }
    if (request.target == "/api/driver/lifecycle/executions/req-1") {
      return {200, R"({"status":"IN_PROGRESS"})"};
    }
    return {404, R"({"localizedMessage":"unexpected )" + request.target + R"(","status":404})"};
  };
}

TEST_F(CommandsTest, ExecSendsTheRequestAndReportsComplete) {
  testing::FakeHttpServer server(flow("COMPLETE"));
  auto options = exec_options(server.url());
  options.tenant = "t-1";
  EXPECT_EQ(run_exec_command(options, out_, err_, false), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("status: COMPLETE\nrequestId: req-1\n"));
  EXPECT_THAT(out_.str(), HasSubstr("outputs: {\n  \"path\": \"/tmp/x\"\n}\n"));
  EXPECT_THAT(out_.str(), HasSubstr("associatedTopology: {\n  \"dir\": {"));
  EXPECT_THAT(err_.str(), HasSubstr("flint: Create: request req-1 accepted\n"));
  EXPECT_THAT(err_.str(), HasSubstr("flint: Create: IN_PROGRESS ("));
  EXPECT_THAT(err_.str(), HasSubstr("flint: Create: COMPLETE after "));

  const auto requests = server.requests();
  ASSERT_GE(requests.size(), 4u);
  EXPECT_EQ(requests[1].target, "/api/driver/lifecycle/execute");
  EXPECT_EQ(requests[1].header("tenantId"), "t-1");
  const auto body = boost::json::parse(requests[1].body).as_object();
  EXPECT_EQ(body.at("lifecycleName"), "Create");
  EXPECT_EQ(body.at("resourceProperties").at("flavor").at("value"), "small");
  EXPECT_EQ(body.at("deploymentLocation").at("name"), "lab");
  EXPECT_EQ(body.at("systemProperties").at("deploymentLocation").at("value"), "lab");
  EXPECT_EQ(body.at("systemProperties").at("resourceManagerId").at("value"), "flint-cli");
  const auto zip = files::decode_base64(body.at("driverFiles").as_string());
  ASSERT_TRUE(zip);
  EXPECT_EQ(zip->substr(0, 2), "PK");
}

TEST_F(CommandsTest, ExecReadsTheLogAgainWhenItWasReplacedWhileWaiting) {
  // Event 6 is read; then the server's log is restored from a backup, and
  // the outcome of req-1 gets number 2 there.
  testing::FakeHttpServer server([](const testing::RecordedRequest& request) -> testing::FakeReply {
    if (request.target == "/api/events?after=0&limit=1&wait=0") {
      return {200, R"({"events":[],"lastSeq":5})"};
    }
    if (request.target == "/api/driver/lifecycle/execute") {
      return {202, R"({"requestId":"req-1","associatedTopology":{},"version":"1.0.0"})"};
    }
    if (request.target.starts_with("/api/events?after=5&limit=100&wait=")) {
      return {200, R"({"events":[)" + event(6, "other", "COMPLETE") + R"(],"lastSeq":6})"};
    }
    if (request.target.starts_with("/api/events?after=6&afterId=e6&limit=100&wait=")) {
      return {409, R"({"localizedMessage":"afterId: not held","status":409})"};
    }
    if (request.target.starts_with("/api/events?after=0&limit=100&wait=")) {
      return {200, R"({"events":[)" + event(2, "req-1", "COMPLETE") + R"(],"lastSeq":2})"};
    }
    if (request.target == "/api/driver/lifecycle/executions/req-1") {
      return {200, R"({"status":"IN_PROGRESS"})"};
    }
    return {404, R"({"localizedMessage":"unexpected )" + request.target + R"(","status":404})"};
  });
  EXPECT_EQ(run_exec_command(exec_options(server.url()), out_, err_, false), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("status: COMPLETE\nrequestId: req-1\n"));
  EXPECT_THAT(err_.str(), HasSubstr("event log was replaced; reading it again from the start"));
}

TEST_F(CommandsTest, ExecTakesTheOutcomeFromTheRecordWhenItsEventIsInAnotherNodesLog) {
  // Cluster mode: the node that ended the execution logged its event; this one never will.
  testing::FakeHttpServer server([](const testing::RecordedRequest& request) -> testing::FakeReply {
    if (request.target == "/api/driver/lifecycle/execute") {
      return {202, R"({"requestId":"req-1","associatedTopology":{},"version":"1.0.0"})"};
    }
    if (request.target.starts_with("/api/events")) return {200, R"({"events":[],"lastSeq":0})"};
    if (request.target == "/api/driver/lifecycle/executions/req-1") {
      return {200, R"({"requestId":"req-1","status":"FAILED","monitoring":"ended",)"
                   R"("failureDetails":{"failureCode":"INTERNAL_ERROR","description":"no"},)"
                   R"("outputs":{"a":"1"},"associatedTopology":{},"transitions":[]})"};
    }
    return {404, R"({"localizedMessage":"unexpected","status":404})"};
  });
  auto options = exec_options(server.url());
  options.timeout = "1h";
  options.json = true;
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(run_exec_command(options, out_, err_, false), 1) << err_.str();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(15));
  EXPECT_EQ(
      boost::json::parse(out_.str()),
      boost::json::parse(R"({"requestId":"req-1","status":"FAILED","failureDetails":)"
                         R"({"failureCode":"INTERNAL_ERROR","description":"no"},)"
                         R"("outputs":{"a":"1"},"associatedTopology":{},"version":"1.0.0"})"));
}

TEST_F(CommandsTest, ExecReportsFailedWithExitOne) {
  testing::FakeHttpServer server(flow(
      "FAILED",
      R"(,"failureDetails":{"failureCode":"INFRASTRUCTURE_ERROR","description":"disk full"})"));
  auto options = exec_options(server.url());
  options.json = true;
  EXPECT_EQ(run_exec_command(options, out_, err_, false), 1) << err_.str();
  const auto payload = boost::json::parse(out_.str()).as_object();
  EXPECT_EQ(payload.at("status"), "FAILED");
  EXPECT_EQ(payload.at("failureDetails").at("failureCode"), "INFRASTRUCTURE_ERROR");
}

TEST_F(CommandsTest, ExecTimesOutWithExitTwo) {
  testing::FakeHttpServer server([](const testing::RecordedRequest& request) -> testing::FakeReply {
    if (request.target == "/api/driver/lifecycle/execute") {
      return {202, R"({"requestId":"req-1","associatedTopology":{},"version":"1.0.0"})"};
    }
    if (request.target.starts_with("/api/events")) return {200, R"({"events":[],"lastSeq":0})"};
    return {400, R"({"localizedMessage":"not found","status":400})"};
  });
  auto options = exec_options(server.url());
  options.timeout = "1500ms";
  EXPECT_EQ(run_exec_command(options, out_, err_, false), 2);
  EXPECT_THAT(err_.str(), HasSubstr("flint: timed out after 1500ms waiting for request req-1"));
  EXPECT_EQ(out_.str(), "");
}

TEST_F(CommandsTest, ExecSaysAnExecuteLeftWithoutAReplyMayHaveBeenAccepted) {
  // The reply would have named the request: without it, running the command
  // again could start the lifecycle twice.
  testing::FakeHttpServer server([](const testing::RecordedRequest& request) -> testing::FakeReply {
    if (request.target == "/api/driver/lifecycle/execute") {
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      return {202, R"({"requestId":"req-1","associatedTopology":{},"version":"1.0.0"})"};
    }
    if (request.target.starts_with("/api/events")) return {200, R"({"events":[],"lastSeq":0})"};
    return {400, R"({"localizedMessage":"not found","status":400})"};
  });
  auto options = exec_options(server.url());
  options.timeout = "1s";
  EXPECT_EQ(run_exec_command(options, out_, err_, false), 2);
  EXPECT_THAT(err_.str(), HasSubstr("/api/driver/lifecycle/execute: no answer within "));
  EXPECT_THAT(err_.str(), HasSubstr("; the server may have accepted the request all the same (look "
                                    "for it with flint events before running it again)\n"));
}

TEST_F(CommandsTest, ExecStopsWaitingWhenTheServerStoppedMonitoring) {
  // The driver lost the request: no event will ever come, whatever the timeout.
  testing::FakeHttpServer server([](const testing::RecordedRequest& request) -> testing::FakeReply {
    if (request.target == "/api/driver/lifecycle/execute") {
      return {202, R"({"requestId":"req-1","associatedTopology":{},"version":"1.0.0"})"};
    }
    if (request.target.starts_with("/api/events")) return {200, R"({"events":[],"lastSeq":0})"};
    if (request.target == "/api/driver/lifecycle/executions/req-1") {
      return {200, R"({"status":"IN_PROGRESS","monitoring":"stopped: request not found"})"};
    }
    return {404, R"({"localizedMessage":"unexpected","status":404})"};
  });
  auto options = exec_options(server.url());
  options.timeout = "1h";
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(run_exec_command(options, out_, err_, false), 2);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
  EXPECT_THAT(err_.str(), HasSubstr("flint: the server stopped monitoring request req-1 without an "
                                    "outcome (stopped: request not found); no event will come"));
  EXPECT_EQ(out_.str(), "");
}

TEST_F(CommandsTest, ExecPrintsTheServersMessageOnAnApiError) {
  testing::FakeHttpServer server([](const testing::RecordedRequest& request) -> testing::FakeReply {
    if (request.target.starts_with("/api/events")) return {200, R"({"events":[],"lastSeq":0})"};
    return {400, R"({"localizedMessage":"invalid lifecycle name \"Create\"","status":400})"};
  });
  EXPECT_EQ(run_exec_command(exec_options(server.url()), out_, err_, false), 2);
  EXPECT_EQ(err_.str(),
            "flint: POST /api/driver/lifecycle/execute: 400: invalid lifecycle name \"Create\"\n");
}

TEST_F(CommandsTest, ExecWithoutAServerIsOneClearLine) {
  const testing::RefusingPort refusing;
  const std::string url = "http://127.0.0.1:" + std::to_string(refusing.port());
  EXPECT_EQ(run_exec_command(exec_options(url), out_, err_, false), 2);
  EXPECT_EQ(err_.str(), "flint: cannot connect to " + url + ": Connection refused\n");
}

TEST_F(CommandsTest, ExecRejectsBadInputBeforeCallingTheServer) {
  auto options = exec_options("http://127.0.0.1:1");
  options.driver_files = (dir_ / "missing").string();
  EXPECT_EQ(run_exec_command(options, out_, err_, false), 2);
  EXPECT_THAT(err_.str(), HasSubstr("missing: not a directory"));
  err_.str("");
  options = exec_options("http://127.0.0.1:1");
  options.timeout = "soon";
  EXPECT_EQ(run_exec_command(options, out_, err_, false), 2);
  EXPECT_THAT(err_.str(), HasSubstr("--timeout: \"soon\""));
  err_.str("");
  std::ofstream(dir_ / "state.yaml") << "resourceProperties: {n: {type: integer, value: x}}\n";
  EXPECT_EQ(run_exec_command(exec_options("http://127.0.0.1:1"), out_, err_, false), 2);
  EXPECT_THAT(err_.str(), HasSubstr("resourceProperties.n.value: expected an integer"));
}

TEST_F(CommandsTest, FindPrintsTheResultAndExitsByWhetherItFoundOne) {
  std::string result = R"({"result":{"resourceId":"r-9","outputs":{}}})";
  testing::FakeHttpServer server([&](const testing::RecordedRequest&) -> testing::FakeReply {
    return {200, result};
  });
  FindOptions options;
  options.instance_name = "web-1";
  options.driver_files = (dir_ / "package").string();
  options.resource_state = (dir_ / "state.yaml").string();
  options.server.url = server.url();
  EXPECT_EQ(run_find_command(options, out_, err_), 0) << err_.str();
  EXPECT_EQ(out_.str(), "{\n  \"resourceId\": \"r-9\",\n  \"outputs\": {}\n}\n");
  const auto body = boost::json::parse(server.requests()[0].body).as_object();
  EXPECT_EQ(body.at("instanceName"), "web-1");
  EXPECT_EQ(body.at("deploymentLocation").at("name"), "lab");

  out_.str("");
  result = R"({"result":null})";
  EXPECT_EQ(run_find_command(options, out_, err_), 1);
  EXPECT_EQ(out_.str(), "null\n");
  EXPECT_THAT(err_.str(), HasSubstr("no instance named \"web-1\" was found"));
}

TEST_F(CommandsTest, EventsPrintsEveryPageAsJsonLines) {
  testing::FakeHttpServer server([](const testing::RecordedRequest& request) -> testing::FakeReply {
    if (request.target == "/api/events?after=2&limit=100&wait=0") {
      return {200, "{\"events\":[" + event(3, "a", "COMPLETE") + "," + event(4, "b", "FAILED") +
                       "],\"lastSeq\":5}"};
    }
    if (request.target == "/api/events?after=4&afterId=e4&limit=100&wait=0") {
      return {200, "{\"events\":[" + event(5, "c", "COMPLETE") + "],\"lastSeq\":5}"};
    }
    return {200, R"({"events":[],"lastSeq":5})"};
  });
  EventsOptions options;
  options.after = 2;
  options.server.url = server.url();
  EXPECT_EQ(run_events_command(options, out_, err_), 0) << err_.str();
  std::istringstream lines(out_.str());
  std::string line;
  std::vector<std::uint64_t> seqs;
  while (std::getline(lines, line)) seqs.push_back(boost::json::parse(line).at("seq").as_int64());
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{3, 4, 5}));
}

TEST_F(CommandsTest, EventsStopsWhenTheLogNoLongerHoldsTheEventAtAfter) {
  testing::FakeHttpServer server([](const testing::RecordedRequest& request) -> testing::FakeReply {
    if (request.target == "/api/events?after=4&afterId=e4&limit=100&wait=0") {
      return {409, R"({"localizedMessage":"afterId: the event log does not hold event e4 at )"
                   R"(sequence 4","status":409})"};
    }
    return {404, R"({"localizedMessage":"unexpected )" + request.target + R"(","status":404})"};
  });
  EventsOptions options;
  options.after = 4;
  options.after_id = "e4";
  options.server.url = server.url();
  EXPECT_EQ(run_events_command(options, out_, err_), 2);
  EXPECT_THAT(err_.str(), HasSubstr("409: afterId: the event log does not hold event e4"));
  EXPECT_EQ(out_.str(), "");
}

TEST_F(CommandsTest, EventsRefusesAnAfterIdWithoutAnEventBeforeIt) {
  EventsOptions options;
  options.after_id = "e4";  // --after 0: no event is numbered 0
  options.server.url = "http://127.0.0.1:1";
  EXPECT_EQ(run_events_command(options, out_, err_), 2);
  EXPECT_EQ(err_.str(),
            "flint: --after-id: needs --after with the sequence number of that event (1 or "
            "more)\n");
}

TEST_F(CommandsTest, EventsReportsAnUnusableServer) {
  testing::FakeHttpServer server([](const testing::RecordedRequest&) -> testing::FakeReply {
    return {404, R"({"localizedMessage":"no such path","status":404})"};
  });
  EventsOptions options;
  options.server.url = server.url();
  EXPECT_EQ(run_events_command(options, out_, err_), 2);
  EXPECT_EQ(err_.str(),
            "flint: GET /api/events: 404: no such path (this server serves no event log: is it a "
            "Flint with events.log.enabled and bootstrap.events.api_enabled true, and a driver API "
            "on?)\n");
}

}  // namespace
}  // namespace flint::cli
