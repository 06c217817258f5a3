#include "health/health_registry.hpp"

#include <stdexcept>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace flint::health {
namespace {

TEST(HealthRegistry, ReportsEachVitalInOrderWithDetails) {
  HealthRegistry registry;
  registry.add("app", [](boost::json::object&) { return HealthStatus::ok; });
  registry.add("driver_calls", [](boost::json::object& details) {
    details["queued"] = 900;
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

TEST(HealthRegistry, AnUnhealthyOrFailingCheckMakesTheHostUnhealthy) {
  HealthRegistry registry;
  registry.add("store",
               [](boost::json::object&) -> HealthStatus { throw std::runtime_error("disk gone"); });
  const auto report = registry.report();
  EXPECT_FALSE(report.healthy);
  const auto body = boost::json::parse(report.body);
  const auto& store = body.at("vitals").at("store");
  EXPECT_EQ(store.at("status"), "UNHEALTHY");
  EXPECT_EQ(store.at("error"), "disk gone");
}

}  // namespace
}  // namespace flint::health
