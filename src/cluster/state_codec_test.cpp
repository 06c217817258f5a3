#include "cluster/state_codec.hpp"

#include <gtest/gtest.h>

#include "files/base64.hpp"

namespace flint::cluster {
namespace {

security::CredentialVault key(char digit) {
  return security::CredentialVault::from_hex_key(std::string(64, digit), "test key");
}

service::AcceptedExecution accepted() {
  return {.request_id = "req-1",
          .driver = "noop",
          .lifecycle_name = "Create",
          .tenant_id = "tenant-a",
          .accepted_at = 1'700'000'000'000,
          .deadline_at = 1'700'000'360'000,
          .associated_topology = boost::json::object{{"vm", {{"id", "1"}, {"type", "VM"}}}},
          .job = {{"driver", "noop"},
                  {"deploymentLocation",
                   {{"name", "dc1"}, {"properties", {{"password", "hunter2"}}}}}}};
}

TEST(StateCodec, RoundTripsAcceptedAndEndedRecords) {
  const StateCodec codec(key('1'));
  const auto value = codec.encode(accepted());
  const auto record = codec.decode("req-1", value);
  const auto& decoded = std::get<service::AcceptedExecution>(record);
  EXPECT_EQ(decoded.lifecycle_name, "Create");
  EXPECT_EQ(decoded.tenant_id, "tenant-a");
  EXPECT_EQ(decoded.deadline_at, 1'700'000'360'000);
  EXPECT_EQ(decoded.job, accepted().job);
  EXPECT_EQ(decoded.associated_topology, accepted().associated_topology);

  service::ExecutionEnding ending{.request_id = "req-1",
                                  .status = "FAILED",
                                  .failure_code = "INTERNAL_ERROR",
                                  .failure_description = "boom",
                                  .outputs = boost::json::object{{"ip", "10.0.0.1"}},
                                  .ended_at = 42};
  const auto ended =
      std::get<service::ExecutionEnding>(codec.decode("req-1", codec.encode(ending)));
  EXPECT_EQ(ended.status, "FAILED");
  EXPECT_EQ(ended.failure_code, "INTERNAL_ERROR");
  EXPECT_EQ(ended.failure_description, "boom");
  EXPECT_EQ(ended.outputs, ending.outputs);
  EXPECT_EQ(ended.monitoring, "complete");
  EXPECT_EQ(ended.ended_at, 42);
}

TEST(StateCodec, SealsCredentialsAndBindsRecordsToTheirKey) {
  const StateCodec codec(key('1'));
  const auto value = codec.encode(accepted());
  EXPECT_EQ(value.find("hunter2"), std::string::npos);
  EXPECT_EQ(value.find("dc1"), std::string::npos);
  try {
    codec.decode("req-2", value);  // replayed under another id
    FAIL() << "decoded under another key";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open it under the cluster key"),
              std::string::npos);
  }
  EXPECT_THROW(StateCodec(key('2')).decode("req-1", value), std::runtime_error);
  EXPECT_THROW(codec.decode("req-1", "not base64 !"), std::runtime_error);
}

// A record sealed under the right key whose JSON is not a state record: the
// view skips a record only on std::runtime_error, so nothing else may escape.
TEST(StateCodec, RefusesMalformedRecordsWithRuntimeError) {
  const auto vault = key('1');
  const StateCodec codec(vault);
  for (const std::string plain :
       {"6", "{}", R"({"format":1})", R"({"format":1,"type":7,"requestId":"req-1"})",
        R"({"format":"1","type":"ended","requestId":"req-1"})",
        R"({"format":1,"type":"ended","requestId":"req-1","status":"COMPLETE"})",
        R"({"format":1,"type":"accepted","requestId":"req-1","driver":"noop",)"
        R"("lifecycleName":"Create","tenantId":"","acceptedAt":1,"deadlineAt":2,)"
        R"("associatedTopology":{},"job":[]})"}) {
    SCOPED_TRACE(plain);
    const auto value = files::encode_base64(vault.seal(plain, "req-1"));
    try {
      codec.decode("req-1", value);
      ADD_FAILURE() << "decoded";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("malformed record: "), std::string::npos) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not a std::runtime_error: " << e.what();
    }
  }
}

}  // namespace
}  // namespace flint::cluster
