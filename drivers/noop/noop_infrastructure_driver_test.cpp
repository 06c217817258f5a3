#include "noop/noop_infrastructure_driver.hpp"

#include <chrono>

#include <gtest/gtest.h>

#include <flint/sdk/errors.hpp>
#include <flint/sdk/testing/conformance.hpp>

namespace flint::drivers::noop {
namespace {

using sdk::ExecutionStatus;

sdk::CreateInfrastructureRequest create_request(
    std::vector<std::pair<std::string, sdk::Property>> properties = {}) {
  sdk::CreateInfrastructureRequest request;
  request.template_text = "tosca_definitions_version: tosca_simple_yaml_1_0\n";
  request.template_type = "TOSCA";
  request.system_properties.set("resourceName", sdk::Property::string("web"));
  for (auto& [name, property] : properties) request.properties.set(name, std::move(property));
  request.deployment_location = {.name = "dc-1", .type = "noop", .properties = {}};
  return request;
}

class NoopInfrastructureDriverTest : public ::testing::Test {
 protected:
  NoopInfrastructureDriver driver;
  sdk::testing::TestCallContext context;
  sdk::DeploymentLocation location{.name = "dc-1", .type = "noop", .properties = {}};
};

TEST_F(NoopInfrastructureDriverTest, CreateCompletesAfterTheScriptedPollsThenFindAndDelete) {
  const auto accepted = driver.create_infrastructure(
      create_request({{"noop.pollsInProgress", sdk::Property::integer(1)},
                      {"noop.outputs", {"map", boost::json::object{{"ip", "10.0.0.2"}}}}}),
      context);
  ASSERT_FALSE(accepted.infrastructure_id.empty());
  auto task = driver.get_infrastructure_task(accepted.infrastructure_id, accepted.request_id,
                                             location, context);
  EXPECT_EQ(task.status, ExecutionStatus::in_progress);
  task = driver.get_infrastructure_task(accepted.infrastructure_id, accepted.request_id, location,
                                        context);
  EXPECT_EQ(task.status, ExecutionStatus::complete);
  EXPECT_EQ(task.outputs.at("ip"), "10.0.0.2");
  EXPECT_EQ(driver.get_infrastructure_task(accepted.infrastructure_id, accepted.request_id,
                                           location, context),
            task)
      << "terminal reads are idempotent";

  sdk::FindInfrastructureRequest find{.template_text = "x",
                                      .template_type = "TOSCA",
                                      .instance_name = "web",
                                      .deployment_location = location};
  const auto found = driver.find_infrastructure(find, context);
  ASSERT_TRUE(found.result);
  EXPECT_EQ(found.result->infrastructure_id, accepted.infrastructure_id);

  const auto deleting = driver.delete_infrastructure(accepted.infrastructure_id, location, context);
  EXPECT_EQ(driver
                .get_infrastructure_task(accepted.infrastructure_id, deleting.request_id, location,
                                         context)
                .status,
            ExecutionStatus::complete);
  EXPECT_FALSE(driver.find_infrastructure(find, context).result);
  EXPECT_THROW(driver.delete_infrastructure(accepted.infrastructure_id, location, context),
               sdk::InfrastructureNotFoundError);
}

TEST_F(NoopInfrastructureDriverTest, FailsAndRaisesAsTold) {
  const auto accepted = driver.create_infrastructure(
      create_request({{"noop.outcome", sdk::Property::string("FAILED")},
                      {"noop.failureCode", sdk::Property::string("RESOURCE_ALREADY_EXISTS")},
                      {"noop.raiseOnPoll", sdk::Property::string("temporary")},
                      {"noop.raiseOnPollTimes", sdk::Property::integer(1)}}),
      context);
  EXPECT_THROW(driver.get_infrastructure_task(accepted.infrastructure_id, accepted.request_id,
                                              location, context),
               sdk::TemporaryDriverError);
  const auto task = driver.get_infrastructure_task(accepted.infrastructure_id, accepted.request_id,
                                                   location, context);
  EXPECT_EQ(task.status, ExecutionStatus::failed);
  EXPECT_EQ(task.failure_details->code, sdk::FailureCode::resource_already_exists);

  EXPECT_THROW(
      driver.create_infrastructure(
          create_request({{"noop.raise", sdk::Property::string("invalid_template")}}), context),
      sdk::InvalidTemplateError);
  try {
    driver.create_infrastructure(create_request({{"noop.outcome", sdk::Property::string("DONE")}}),
                                 context);
    FAIL() << "expected an error";
  } catch (const sdk::InvalidRequestError& e) {
    EXPECT_STREQ(e.what(), R"(properties.noop.outcome: expected COMPLETE or FAILED, got "DONE")");
  }
  EXPECT_THROW(driver.get_infrastructure_task("x", "unknown", location, context),
               sdk::RequestNotFoundError);
  EXPECT_THROW(driver.get_infrastructure_task("other", accepted.request_id, location, context),
               sdk::InfrastructureNotFoundError);
}

TEST_F(NoopInfrastructureDriverTest, LatencyMsSlowsCreatesAndDeletes) {
  const auto started = std::chrono::steady_clock::now();
  const auto accepted = driver.create_infrastructure(
      create_request({{"noop.latencyMs", sdk::Property::integer(50)}}), context);
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(50));
  location.properties = {{"noop.latencyMs", 50}};
  const auto deleting = std::chrono::steady_clock::now();
  driver.delete_infrastructure(accepted.infrastructure_id, location, context);
  EXPECT_GE(std::chrono::steady_clock::now() - deleting, std::chrono::milliseconds(50));
  try {
    driver.create_infrastructure(create_request({{"noop.latencyMs", sdk::Property::integer(-1)}}),
                                 context);
    FAIL() << "expected an error";
  } catch (const sdk::InvalidRequestError& e) {
    EXPECT_STREQ(e.what(), "properties.noop.latencyMs: expected a non-negative integer");
  }
}

}  // namespace
}  // namespace flint::drivers::noop
