#include "health/health_registry.hpp"

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace flint::health {
namespace {

TEST(HealthRegistry, ReportsEachVitalInOrderWithDetails) {
  HealthRegistry registry;
  registry.add("app", [](HealthDetails&) { return HealthStatus::ok; });
  registry.add("driver_calls", [](HealthDetails& details) {
    details.set("queued", 900);
    return HealthStatus::degraded;
  });
  const auto report = registry.report();
  EXPECT_TRUE(report.healthy);
  const auto body = boost::json::parse(report.body);
  const auto& vitals = body.at("vitals").as_object();
  ASSERT_EQ(vitals.size(), 2u);
  EXPECT_EQ(vitals.begin()->key(), "app");
  EXPECT_EQ(vitals.at("app").at("status"), "OK");
  EXPECT_EQ(vitals.at("driver_calls").at("status"), "DEGRADED");
  EXPECT_EQ(vitals.at("driver_calls").at("queued"), 900);
}

TEST(HealthRegistry, StatusesAreTheReportsWithoutDetails) {
  HealthRegistry registry;
  registry.add("app", [](HealthDetails& details) {
    details.set("version", "1");
    return HealthStatus::ok;
  });
  registry.add("store", [](HealthDetails&) { return HealthStatus::degraded; });
  registry.add("files", [](HealthDetails&) -> HealthStatus { throw std::runtime_error("gone"); });
  using Found = std::vector<std::pair<std::string, HealthStatus>>;
  EXPECT_EQ(registry.statuses(), (Found{{"app", HealthStatus::ok},
                                        {"store", HealthStatus::degraded},
                                        {"files", HealthStatus::unhealthy}}));
}

TEST(HealthRegistry, AnUnhealthyOrFailingCheckMakesTheHostUnhealthy) {
  HealthRegistry registry;
  registry.add("store",
               [](HealthDetails&) -> HealthStatus { throw std::runtime_error("disk gone"); });
  const auto report = registry.report();
  EXPECT_FALSE(report.healthy);
  const auto body = boost::json::parse(report.body);
  const auto& store = body.at("vitals").at("store");
  EXPECT_EQ(store.at("status"), "UNHEALTHY");
  EXPECT_EQ(store.at("error"), "disk gone");
}

TEST(HealthRegistry, DetailsOfEveryTypeAreValidJson) {
  HealthRegistry registry;
  registry.add("a \"quoted\" name", [](HealthDetails& details) {
    details.set("path", std::string("C:\\dir\n\"x\""));
    details.set("literal", "plain");
    details.set("utf8", "d\u00e9j\u00e0");
    details.set("on", true);
    details.set("negative", -42);
    details.set("large", std::uint64_t{18'446'744'073'709'551'615u});
    details.set("list", boost::json::array{1, "two"});
    return HealthStatus::ok;
  });
  registry.add("empty", [](HealthDetails&) { return HealthStatus::ok; });
  const auto body = boost::json::parse(registry.report().body);
  const auto& entry = body.at("vitals").at("a \"quoted\" name").as_object();
  EXPECT_EQ(entry.begin()->key(), "status");  // status first, then details in order
  EXPECT_EQ(entry.at("path"), "C:\\dir\n\"x\"");
  EXPECT_EQ(entry.at("literal"), "plain");
  EXPECT_EQ(entry.at("utf8"), "d\u00e9j\u00e0");
  EXPECT_EQ(entry.at("on"), true);
  EXPECT_EQ(entry.at("negative"), -42);
  EXPECT_EQ(entry.at("large").as_uint64(), 18'446'744'073'709'551'615u);
  EXPECT_EQ(entry.at("list"), (boost::json::array{1, "two"}));
  EXPECT_EQ(body.at("vitals").at("empty"), (boost::json::object{{"status", "OK"}}));
}

TEST(HealthRegistry, AFailingCheckReportsOnlyItsError) {
  HealthRegistry registry;
  registry.add("store", [](HealthDetails& details) -> HealthStatus {
    details.set("error", "half-written");
    throw std::runtime_error("disk gone");
  });
  const auto report = registry.report();
  EXPECT_EQ(report.body.find("half-written"), std::string::npos) << report.body;  // one "error"
  const auto body = boost::json::parse(report.body);
  EXPECT_EQ(body.at("vitals").at("store"),
            (boost::json::object{{"status", "UNHEALTHY"}, {"error", "disk gone"}}));
}

TEST(HealthRegistry, NoChecksIsAnEmptyReport) {
  EXPECT_EQ(HealthRegistry().report().body, R"({"vitals":{}})");
}

}  // namespace
}  // namespace flint::health
