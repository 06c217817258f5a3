#include "drivers/host_call_context.hpp"

#include <sstream>
#include <string>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include "logging/logging.hpp"

namespace flint::drivers {
namespace {

class HostCallContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    logging::configure({.level = "info", .format = logging::LogFormat::logstash},
                       std::make_shared<spdlog::sinks::ostream_sink_mt>(out_));
  }
  void TearDown() override { logging::configure({}); }

  HostCallContext context() {
    return HostCallContext({{"tracectx.transactionid", "tx-1"}, {"tenantId", "t1"}}, "t1",
                           std::chrono::steady_clock::now() + std::chrono::seconds(5),
                           logging::logger("driver.test"));
  }
  boost::json::object line() { return boost::json::parse(out_.str()).as_object(); }

  std::ostringstream out_;
};

TEST_F(HostCallContextTest, ALineCarriesTheRequestsContext) {
  auto ctx = context();
  ctx.info("volume created");
  const auto logged = line();
  EXPECT_EQ(logged.at("message"), "volume created");
  EXPECT_EQ(logged.at("tracectx.transactionid"), "tx-1");
  EXPECT_EQ(logged.at("tenantId"), "t1");
}

// Inmanta keeps named values with each line of an action's log.
TEST_F(HostCallContextTest, NamedValuesAreFieldsOfTheLine) {
  auto ctx = context();
  ctx.info("volume created", {{"volume", "v1"}, {"size_gib", "20"}});
  const auto logged = line();
  EXPECT_EQ(logged.at("message"), "volume created");
  EXPECT_EQ(logged.at("field.volume"), "v1");
  EXPECT_EQ(logged.at("field.size_gib"), "20");
  EXPECT_EQ(logged.at("tenantId"), "t1") << "the request's context stays";
}

TEST_F(HostCallContextTest, ADriverCannotWriteOverTheHostsFields) {
  auto ctx = context();
  const std::string long_value(5000, 'x');
  ctx.warn("odd names", {{"message", "forged"},
                         {"tenantId", "t2"},
                         {"a b=c\n", "1"},
                         {"", "2"},
                         {"big", long_value}});
  const auto logged = line();
  EXPECT_EQ(logged.at("message"), "odd names");
  EXPECT_EQ(logged.at("tenantId"), "t1");
  EXPECT_EQ(logged.at("field.message"), "forged");
  EXPECT_EQ(logged.at("field.tenantId"), "t2");
  EXPECT_EQ(logged.at("field.a_b_c_"), "1");
  EXPECT_EQ(logged.at("field._"), "2");
  EXPECT_EQ(logged.at("field.big").as_string(), std::string(4096, 'x') + "...(truncated)");
}

TEST_F(HostCallContextTest, PrivateKeysInAValueAreMasked) {
  auto ctx = context();
  ctx.info("key", {{"pem", "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"}});
  EXPECT_EQ(out_.str().find("MIIE"), std::string::npos) << out_.str();
}

TEST_F(HostCallContextTest, ALineBelowTheLevelIsDropped) {
  auto ctx = context();
  ctx.debug("not kept", {{"volume", "v1"}});
  EXPECT_EQ(out_.str(), "");
}

}  // namespace
}  // namespace flint::drivers
