// `flint infra` against a fake server that speaks the Infrastructure API.

#include "infra_command.hpp"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <CLI/CLI.hpp>
#include <boost/json/parse.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "fake_http_server.hpp"
#include "flint_api.hpp"
#include "http_client.hpp"

namespace flint::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr const char* kTemplate = "tosca_definitions_version: tosca_simple_yaml_1_0\n";

// An event of the log: `topic` with key `key` and `payload`.
std::string event(unsigned seq, const std::string& topic, const std::string& key,
                  const std::string& payload) {
  return R"({"seq":)" + std::to_string(seq) + R"(,"id":"e)" + std::to_string(seq) +
         R"(","topic":")" + topic + R"(","key":")" + key +
         R"(","tenantId":null,"createdAt":"2024-01-01T00:00:00Z","payload":)" + payload + "}";
}

std::string task(const std::string& request_id, const std::string& status,
                 const std::string& extra = "") {
  return R"({"requestId":")" + request_id + R"(","infrastructureId":"inf-1","status":")" + status +
         "\"" + extra + R"(,"outputs":{"ip":"10.0.0.5"}})";
}

// lastSeq 5; the task event arrives on the second long poll, after a
// lifecycle event with the same request id and a task event of another
// request.
testing::FakeHttpServer::Handler task_flow(const std::string& path, const std::string& status,
                                           std::string extra = "") {
  auto polls = std::make_shared<std::atomic<int>>(0);
  return [=](const testing::RecordedRequest& request) -> testing::FakeReply {
    if (request.target == "/api/events?after=0&limit=1&wait=0") {
      return {200, R"({"events":[],"lastSeq":5})"};
    }
    if (request.target == path) {
      return {202, R"({"infrastructureId":"inf-1","requestId":"req-1"})"};
    }
    if (request.target.starts_with("/api/events?after=5&limit=100&wait=")) {
      if (++*polls == 1) return {200, R"({"events":[],"lastSeq":5})"};
      return {200,
              R"({"events":[)" +
                  event(6, "lifecycle_execution_events", "req-1",
                        R"({"requestId":"req-1","status":"FAILED"})") +
                  "," + event(7, "infrastructure_task_events", "other", task("other", "FAILED")) +
                  "," +
                  event(8, "infrastructure_task_events", "req-1", task("req-1", status, extra)) +
                  R"(],"lastSeq":8})"};
    }
    return {404, R"({"localizedMessage":"unexpected )" + request.target + R"(","status":404})"};
  };
}

class InfraCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("flint-cli-infra-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "web.yaml") << kTemplate;
    std::ofstream(dir_ / "state.yaml")
        << "resourceProperties: {flavor: small}\n"
           "deploymentLocation: {name: lab, type: Openstack, properties: {region: eu}}\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  InfraOptions options(InfraAction action, const std::string& url) {
    InfraOptions o;
    o.action = action;
    o.template_file = (dir_ / "web.yaml").string();
    o.resource_state = (dir_ / "state.yaml").string();
    o.server.url = url;
    o.timeout = "10s";
    return o;
  }

  boost::json::object body_of(const testing::FakeHttpServer& server, const std::string& target) {
    for (const auto& request : server.requests()) {
      if (request.target == target) return boost::json::parse(request.body).as_object();
    }
    ADD_FAILURE() << "no request to " << target;
    return {};
  }

  fs::path dir_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(InfraCommandTest, CreateSendsTheContractBodyAndWaitsForTheTaskEvent) {
  testing::FakeHttpServer server(task_flow("/api/infrastructure/create", "COMPLETE"));
  auto o = options(InfraAction::create, server.url());
  o.name = "web-net";
  o.properties = {"flavor=large", "image=debian=12"};
  o.tenant = "t-1";
  EXPECT_EQ(run_infra_command(o, out_, err_, false), 0) << err_.str();
  EXPECT_EQ(out_.str(),
            "status: COMPLETE\ninfrastructureId: inf-1\nrequestId: req-1\n"
            "outputs: {\n  \"ip\": \"10.0.0.5\"\n}\n");
  EXPECT_THAT(err_.str(), HasSubstr("flint: infra create: infrastructure inf-1, request req-1 "
                                    "accepted\n"));
  EXPECT_THAT(err_.str(), HasSubstr("flint: infra create: COMPLETE after "));

  const auto requests = server.requests();
  ASSERT_GE(requests.size(), 4u);
  EXPECT_EQ(requests[1].target, "/api/infrastructure/create");
  EXPECT_EQ(requests[1].header("tenantId"), "t-1");
  const auto body = body_of(server, "/api/infrastructure/create");
  EXPECT_EQ(body.at("template"), kTemplate);
  EXPECT_EQ(body.at("templateType"), "TOSCA");
  const auto& system = body.at("systemProperties").as_object();
  EXPECT_EQ(system.at("resourceName").at("value"), "web-net");
  EXPECT_EQ(system.at("resourceName").at("type"), "string");
  EXPECT_EQ(system.at("resourceId").at("value").as_string().size(), 36u);
  EXPECT_EQ(system.at("requestId").at("value").as_string().size(), 36u);
  EXPECT_EQ(system.at("deploymentLocation").at("value"), "lab");
  EXPECT_TRUE(system.contains("resourceType"));
  // The state's resource properties, overridden and extended by --property.
  EXPECT_EQ(body.at("properties").at("flavor").at("value"), "large");
  EXPECT_EQ(body.at("properties").at("image").at("value"), "debian=12");
  EXPECT_EQ(body.at("deploymentLocation").at("name"), "lab");
  EXPECT_EQ(body.at("deploymentLocation").at("type"), "Openstack");
  EXPECT_EQ(body.at("deploymentLocation").at("properties").at("region"), "eu");
}

TEST_F(InfraCommandTest, CreateReportsFailedWithExitOne) {
  testing::FakeHttpServer server(task_flow(
      "/api/infrastructure/create", "FAILED",
      R"(,"failureDetails":{"failureCode":"INSUFFICIENT_CAPACITY","description":"no room"})"));
  auto o = options(InfraAction::create, server.url());
  o.name = "web-net";
  o.json = true;
  EXPECT_EQ(run_infra_command(o, out_, err_, false), 1) << err_.str();
  const auto payload = boost::json::parse(out_.str()).as_object();
  EXPECT_EQ(payload.at("requestId"), "req-1");
  EXPECT_EQ(payload.at("failureDetails").at("failureCode"), "INSUFFICIENT_CAPACITY");
  EXPECT_THAT(err_.str(), HasSubstr("flint: infra create: FAILED after "));
}

TEST_F(InfraCommandTest, CreateTakesTheNameFromTheResourceState) {
  testing::FakeHttpServer server(task_flow("/api/infrastructure/create", "COMPLETE"));
  std::ofstream(dir_ / "state.yaml")
      << "systemProperties: {resourceName: from-state, resourceId: r-1}\n";
  auto o = options(InfraAction::create, server.url());
  o.template_type = "HEAT";
  o.location_name = "dc1";
  EXPECT_EQ(run_infra_command(o, out_, err_, false), 0) << err_.str();
  const auto body = body_of(server, "/api/infrastructure/create");
  EXPECT_EQ(body.at("templateType"), "HEAT");
  EXPECT_EQ(body.at("systemProperties").at("resourceName").at("value"), "from-state");
  EXPECT_EQ(body.at("systemProperties").at("resourceId").at("value"), "r-1");
  EXPECT_EQ(body.at("properties"), boost::json::object());
  EXPECT_EQ(body.at("deploymentLocation").at("name"), "dc1");
}

TEST_F(InfraCommandTest, CreateRejectsBadInputBeforeCallingTheServer) {
  const std::string url = "http://127.0.0.1:1";
  auto o = options(InfraAction::create, url);
  EXPECT_EQ(run_infra_command(o, out_, err_, false), 2);
  EXPECT_THAT(err_.str(), HasSubstr("flint: --name: required"));

  err_.str("");
  o.name = "web";
  o.properties = {"=x"};
  EXPECT_EQ(run_infra_command(o, out_, err_, false), 2);
  EXPECT_EQ(err_.str(), "flint: --property: expected NAME=VALUE, got \"=x\"\n");

  err_.str("");
  o.properties = {};
  o.template_file = (dir_ / "missing.yaml").string();
  EXPECT_EQ(run_infra_command(o, out_, err_, false), 2);
  EXPECT_THAT(err_.str(), HasSubstr("--template: cannot read "));

  err_.str("");
  std::ofstream(dir_ / "empty.yaml").close();
  o.template_file = (dir_ / "empty.yaml").string();
  EXPECT_EQ(run_infra_command(o, out_, err_, false), 2);
  EXPECT_THAT(err_.str(), HasSubstr("empty.yaml is empty"));

  err_.str("");
  o = options(InfraAction::create, url);
  o.name = "web";
  o.timeout = "soon";
  EXPECT_EQ(run_infra_command(o, out_, err_, false), 2);
  EXPECT_THAT(err_.str(), HasSubstr("--timeout: \"soon\""));
  EXPECT_EQ(out_.str(), "");
}

TEST_F(InfraCommandTest, DeleteWaitsForTheTaskEvent) {
  testing::FakeHttpServer server(task_flow("/api/infrastructure/delete", "COMPLETE"));
  auto o = options(InfraAction::remove, server.url());
  o.infrastructure_id = "inf-1";
  EXPECT_EQ(run_infra_command(o, out_, err_, false), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("status: COMPLETE\n"));
  EXPECT_THAT(err_.str(), HasSubstr("flint: infra delete: COMPLETE after "));
  const auto body = body_of(server, "/api/infrastructure/delete");
  EXPECT_EQ(body.size(), 2u);
  EXPECT_EQ(body.at("infrastructureId"), "inf-1");
  EXPECT_EQ(body.at("deploymentLocation").at("name"), "lab");
}

TEST_F(InfraCommandTest, DeleteTimesOutWithExitTwo) {
  testing::FakeHttpServer server([](const testing::RecordedRequest& request) -> testing::FakeReply {
    if (request.target == "/api/infrastructure/delete") {
      return {202, R"({"infrastructureId":"inf-1","requestId":"req-1"})"};
    }
    return {200, R"({"events":[],"lastSeq":0})"};
  });
  auto o = options(InfraAction::remove, server.url());
  o.infrastructure_id = "inf-1";
  o.timeout = "1500ms";
  o.location_name = "dc-1";
  o.tenant = "team's tenant";
  EXPECT_EQ(run_infra_command(o, out_, err_, false), 2);
  // The query command, copied as printed, asks the same server the same way.
  EXPECT_THAT(
      err_.str(),
      HasSubstr("flint: timed out after 1500ms waiting for request req-1; it goes on on "
                "the server (flint infra query inf-1 req-1 --resource-state " +
                o.resource_state + " --location-name dc-1 --tenant 'team'\\''s tenant' --url " +
                server.url() + ")\n"));
  EXPECT_EQ(out_.str(), "");
}

TEST_F(InfraCommandTest, DeletePrintsTheServersMessageOnAnApiError) {
  testing::FakeHttpServer server([](const testing::RecordedRequest& request) -> testing::FakeReply {
    if (request.target.starts_with("/api/events")) return {200, R"({"events":[],"lastSeq":0})"};
    return {400, R"({"localizedMessage":"no infrastructure with id 'x'","status":400})"};
  });
  auto o = options(InfraAction::remove, server.url());
  o.infrastructure_id = "x";
  EXPECT_EQ(run_infra_command(o, out_, err_, false), 2);
  EXPECT_EQ(err_.str(),
            "flint: POST /api/infrastructure/delete: 400: no infrastructure with id 'x'\n");
}

TEST_F(InfraCommandTest, QueryExitsByTheTaskStatus) {
  testing::FakeReply reply{200, task("req-1", "IN_PROGRESS")};
  testing::FakeHttpServer server([&](const testing::RecordedRequest&) { return reply; });
  auto o = options(InfraAction::query, server.url());
  o.infrastructure_id = "inf-1";
  o.request_id = "req-1";
  o.tenant = "t-2";
  EXPECT_EQ(run_infra_command(o, out_, err_, false), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("status: IN_PROGRESS\ninfrastructureId: inf-1\n"));
  const auto request = server.requests().at(0);
  EXPECT_EQ(request.target, "/api/infrastructure/query");
  EXPECT_EQ(request.header("tenantId"), "t-2");
  const auto body = boost::json::parse(request.body).as_object();
  EXPECT_EQ(body.at("infrastructureId"), "inf-1");
  EXPECT_EQ(body.at("requestId"), "req-1");
  EXPECT_EQ(body.at("deploymentLocation").at("name"), "lab");

  out_.str("");
  o.json = true;
  reply = {200,
           task("req-1", "FAILED",
                R"(,"failureDetails":{"failureCode":"INFRASTRUCTURE_ERROR","description":"x"})")};
  EXPECT_EQ(run_infra_command(o, out_, err_, false), 1);
  EXPECT_EQ(boost::json::parse(out_.str()).at("status"), "FAILED");

  out_.str("");
  reply = {400, R"({"localizedMessage":"no request with id 'req-1'","status":400})"};
  EXPECT_EQ(run_infra_command(o, out_, err_, false), 1);
  EXPECT_THAT(err_.str(), HasSubstr("POST /api/infrastructure/query: 400: no request with id"));
  EXPECT_EQ(out_.str(), "");

  reply = {500, R"({"localizedMessage":"driver error","status":500})"};
  EXPECT_EQ(run_infra_command(o, out_, err_, false), 2);
  reply = {200, R"({"requestId":"req-1"})"};
  EXPECT_EQ(run_infra_command(o, out_, err_, false), 2);
  EXPECT_THAT(err_.str(), HasSubstr("status: expected a non-empty string"));
}

TEST_F(InfraCommandTest, FindPrintsTheResultAndExitsByWhetherItFoundOne) {
  std::string result = R"({"result":{"infrastructureId":"inf-9","outputs":{}}})";
  testing::FakeHttpServer server([&](const testing::RecordedRequest&) -> testing::FakeReply {
    return {200, result};
  });
  auto o = options(InfraAction::find, server.url());
  o.instance_name = "web-net";
  EXPECT_EQ(run_infra_command(o, out_, err_, false), 0) << err_.str();
  EXPECT_EQ(out_.str(), "{\n  \"infrastructureId\": \"inf-9\",\n  \"outputs\": {}\n}\n");
  const auto body = body_of(server, "/api/infrastructure/find");
  EXPECT_EQ(body.at("template"), kTemplate);
  EXPECT_EQ(body.at("templateType"), "TOSCA");
  EXPECT_EQ(body.at("instanceName"), "web-net");
  EXPECT_EQ(body.at("deploymentLocation").at("name"), "lab");

  out_.str("");
  result = R"({"result":null})";
  o.json = true;
  EXPECT_EQ(run_infra_command(o, out_, err_, false), 1);
  EXPECT_EQ(out_.str(), "null\n");
  EXPECT_THAT(err_.str(), HasSubstr("no infrastructure named \"web-net\" was found"));
}

TEST_F(InfraCommandTest, WithoutAServerIsOneClearLine) {
  const testing::RefusingPort refusing;
  const std::string url = "http://127.0.0.1:" + std::to_string(refusing.port());
  auto o = options(InfraAction::find, url);
  o.instance_name = "web";
  EXPECT_EQ(run_infra_command(o, out_, err_, false), 2);
  EXPECT_EQ(err_.str(), "flint: cannot connect to " + url + ": Connection refused\n");
}

TEST_F(InfraCommandTest, AServerWithoutTheInfrastructureApiGetsAHint) {
  testing::FakeHttpServer server([](const testing::RecordedRequest& request) -> testing::FakeReply {
    return {404,
            R"({"localizedMessage":"no such path: POST )" + request.target + R"(","status":404})"};
  });
  auto o = options(InfraAction::find, server.url());
  o.instance_name = "web";
  EXPECT_EQ(run_infra_command(o, out_, err_, false), 2);
  EXPECT_THAT(err_.str(), HasSubstr(": 404: no such path: POST /api/infrastructure/find (this "
                                    "server serves no Infrastructure API: is it a Flint with "
                                    "bootstrap.infrastructure.api_enabled true?)\n"));
}

TEST(InfraCommandLine, ParsesEachSubcommand) {
  const auto parse = [](std::vector<std::string> args) {
    CLI::App app("test", "flint");
    auto options = std::make_unique<InfraOptions>();
    add_infra_command(app, *options);
    std::reverse(args.begin(), args.end());
    app.parse(args);
    return options;
  };
  auto create = parse({"infra", "create", "--template", "t.yaml", "--name", "web", "--property",
                       "a=1", "--property", "b=2", "--location-type", "Openstack", "--json"});
  EXPECT_EQ(create->action, InfraAction::create);
  EXPECT_EQ(create->template_file, "t.yaml");
  EXPECT_EQ(create->template_type, "TOSCA");
  EXPECT_EQ(create->name, "web");
  EXPECT_EQ(create->properties, (std::vector<std::string>{"a=1", "b=2"}));
  EXPECT_EQ(create->location_type, "Openstack");
  EXPECT_TRUE(create->json);

  auto remove = parse({"infra", "delete", "inf-1", "--timeout", "90s"});
  EXPECT_EQ(remove->action, InfraAction::remove);
  EXPECT_EQ(remove->infrastructure_id, "inf-1");
  EXPECT_EQ(remove->timeout, "90s");

  auto query = parse({"infra", "query", "inf-1", "req-1", "--url", "http://h:1"});
  EXPECT_EQ(query->action, InfraAction::query);
  EXPECT_EQ(query->request_id, "req-1");
  EXPECT_EQ(query->server.url, "http://h:1");

  auto find = parse({"infra", "find", "web", "--template", "t.yaml", "--template-type", "HEAT"});
  EXPECT_EQ(find->action, InfraAction::find);
  EXPECT_EQ(find->instance_name, "web");
  EXPECT_EQ(find->template_type, "HEAT");

  EXPECT_THROW(parse({"infra"}), CLI::ParseError);
  EXPECT_THROW(parse({"infra", "find", "web"}), CLI::ParseError);  // --template is required
  EXPECT_THROW(parse({"infra", "query", "inf-1"}), CLI::ParseError);
}

TEST(InfraFlintApi, AcceptedRepliesNeedBothIds) {
  testing::FakeHttpServer server([](const testing::RecordedRequest&) {
    return testing::FakeReply{202, R"({"infrastructureId":"inf-1"})"};
  });
  HttpClient http(parse_base_url(server.url()));
  FlintApi api(http);
  try {
    api.create_infrastructure({}, std::nullopt);
    FAIL() << "no error";
  } catch (const ApiError& e) {
    EXPECT_STREQ(e.what(),
                 "POST /api/infrastructure/create: requestId: expected a non-empty string");
  }
}

TEST(InfraFlintApi, EventsCarryTopicAndKey) {
  const auto page = parse_events_page(boost::json::parse(
      R"({"events":[)" +
      event(3, "infrastructure_task_events", "req-1", task("req-1", "COMPLETE")) +
      R"(,{"seq":4,"topic":"x","key":null,"payload":{}}],"lastSeq":4})"));
  ASSERT_EQ(page.events.size(), 2u);
  EXPECT_EQ(page.events[0].topic, "infrastructure_task_events");
  EXPECT_EQ(page.events[0].key, "req-1");
  EXPECT_EQ(page.events[0].request_id, "req-1");
  EXPECT_EQ(page.events[1].key, "");
}

}  // namespace
}  // namespace flint::cli
