#include <gtest/gtest.h>

#include <flint/sdk/lifecycle.hpp>

namespace flint::sdk {
namespace {

TEST(ExecutionStatus, NamesRoundTrip) {
  EXPECT_EQ(to_string(ExecutionStatus::in_progress), "IN_PROGRESS");
  EXPECT_EQ(to_string(ExecutionStatus::complete), "COMPLETE");
  EXPECT_EQ(to_string(ExecutionStatus::failed), "FAILED");
  for (auto status :
       {ExecutionStatus::in_progress, ExecutionStatus::complete, ExecutionStatus::failed}) {
    EXPECT_EQ(parse_execution_status(to_string(status)), status);
  }
  EXPECT_EQ(parse_execution_status("complete"), std::nullopt);
  EXPECT_EQ(parse_execution_status(""), std::nullopt);
  EXPECT_FALSE(is_terminal(ExecutionStatus::in_progress));
  EXPECT_TRUE(is_terminal(ExecutionStatus::complete));
  EXPECT_TRUE(is_terminal(ExecutionStatus::failed));
}

TEST(FailureCode, NamesRoundTrip) {
  EXPECT_EQ(to_string(FailureCode::resource_not_found), "RESOURCE_NOT_FOUND");
  EXPECT_EQ(to_string(FailureCode::infrastructure_error), "INFRASTRUCTURE_ERROR");
  EXPECT_EQ(to_string(FailureCode::insufficient_capacity), "INSUFFICIENT_CAPACITY");
  EXPECT_EQ(to_string(FailureCode::internal_error), "INTERNAL_ERROR");
  EXPECT_EQ(to_string(FailureCode::resource_already_exists), "RESOURCE_ALREADY_EXISTS");
  for (auto code : {FailureCode::resource_not_found, FailureCode::infrastructure_error,
                    FailureCode::insufficient_capacity, FailureCode::internal_error,
                    FailureCode::resource_already_exists}) {
    EXPECT_EQ(parse_failure_code(to_string(code)), code);
  }
  EXPECT_EQ(parse_failure_code("internal_error"), std::nullopt);
}

TEST(LifecycleExecution, FactoriesKeepTheInvariant) {
  auto running = LifecycleExecution::in_progress("r1");
  EXPECT_EQ(running.request_id, "r1");
  EXPECT_EQ(running.status, ExecutionStatus::in_progress);
  EXPECT_FALSE(running.failure_details.has_value());

  AssociatedTopology topology;
  topology.add("vm", {"1", "Openstack"});
  auto done = LifecycleExecution::complete("r2", {{"ip", "10.0.0.1"}}, topology);
  EXPECT_EQ(done.status, ExecutionStatus::complete);
  EXPECT_FALSE(done.failure_details.has_value());
  EXPECT_EQ(done.outputs.at("ip").as_string(), "10.0.0.1");
  EXPECT_EQ(done.associated_topology, topology);

  auto failed = LifecycleExecution::failed("r3", FailureCode::insufficient_capacity, "no room");
  EXPECT_EQ(failed.status, ExecutionStatus::failed);
  ASSERT_TRUE(failed.failure_details.has_value());
  EXPECT_EQ(failed.failure_details->code, FailureCode::insufficient_capacity);
  EXPECT_EQ(failed.failure_details->description, "no room");
  EXPECT_TRUE(failed.outputs.empty());
}

}  // namespace
}  // namespace flint::sdk
