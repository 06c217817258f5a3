#include "health_command.hpp"

#include <sstream>
#include <string>

#include <boost/json/parse.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_http_server.hpp"

namespace flint::cli {
namespace {

using ::testing::HasSubstr;

constexpr const char* kHealthy = R"({"vitals": {
  "app": {"status": "OK", "version": "0.2.0", "uptime_seconds": 42},
  "store": {"status": "OK", "path": "/var/lib/flint/flint.db", "size_bytes": 4096},
  "jobs": {"status": "OK", "scheduled": 3, "running": 1}}})";

constexpr const char* kDegraded = R"({"vitals": {
  "app": {"status": "OK", "version": "0.2.0"},
  "store": {"status": "DEGRADED", "last_error": "flint.db: database or disk is full"}}})";

constexpr const char* kUnhealthy = R"({"vitals": {
  "driver_files": {"status": "UNHEALTHY", "error": "workspace is not a writable directory"}}})";

TEST(HealthCommand, PrintsOneAlignedLinePerVitalInTheServersOrder) {
  EXPECT_EQ(format_health_table(boost::json::parse(kHealthy).as_object()),
            "VITAL  STATUS  DETAILS\n"
            "app    OK      version=0.2.0 uptime_seconds=42\n"
            "store  OK      path=/var/lib/flint/flint.db size_bytes=4096\n"
            "jobs   OK      scheduled=3 running=1\n");
  EXPECT_EQ(format_health_table(boost::json::parse(kDegraded).as_object()),
            "VITAL  STATUS    DETAILS\n"
            "app    OK        version=0.2.0\n"
            "store  DEGRADED  last_error=flint.db: database or disk is full\n");
}

class HealthCommandRun : public ::testing::Test {
 protected:
  int run(const std::string& url, bool strict = false, bool json = false) {
    HealthOptions options;
    options.server.url = url;
    options.strict = strict;
    options.json = json;
    out_.str("");
    err_.str("");
    return run_health_command(options, out_, err_);
  }
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(HealthCommandRun, ExitsByTheServersVerdict) {
  unsigned status = 200;
  std::string body = kHealthy;
  testing::FakeHttpServer server(
      [&](const testing::RecordedRequest& request) -> testing::FakeReply {
        EXPECT_EQ(request.target, "/management/health");
        return {status, body};
      });
  EXPECT_EQ(run(server.url()), 0) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("store  OK"));
  EXPECT_EQ(run(server.url(), false, true), 0);
  EXPECT_EQ(boost::json::parse(out_.str()), boost::json::parse(kHealthy));

  // A DEGRADED vital leaves the server healthy (200), unless --strict.
  body = kDegraded;
  EXPECT_EQ(run(server.url()), 0);
  EXPECT_EQ(run(server.url(), true), 1);
  EXPECT_THAT(out_.str(), HasSubstr("store  DEGRADED  last_error=flint.db: database or disk"));

  status = 503;
  body = kUnhealthy;
  EXPECT_EQ(run(server.url()), 1);
  EXPECT_THAT(out_.str(), HasSubstr("driver_files  UNHEALTHY  error=workspace is not"));
  EXPECT_EQ(err_.str(), "");
}

TEST_F(HealthCommandRun, AnythingButAHealthDocumentIsAnError) {
  unsigned status = 404;
  std::string body = R"({"localizedMessage":"no route for GET /management/health","status":404})";
  testing::FakeHttpServer server([&](const testing::RecordedRequest&) -> testing::FakeReply {
    return {status, body};
  });
  EXPECT_EQ(run(server.url()), 2);
  EXPECT_EQ(err_.str(),
            "flint: GET /management/health: 404: no route for GET /management/health\n");
  status = 200;
  body = R"({"status":"UP"})";
  EXPECT_EQ(run(server.url()), 2);
  EXPECT_EQ(err_.str(), "flint: GET /management/health: expected a JSON object with \"vitals\"\n");
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(run("http://127.0.0.1:1"), 2);
  EXPECT_THAT(err_.str(), HasSubstr("flint: "));
}

}  // namespace
}  // namespace flint::cli
