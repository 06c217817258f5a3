#include "cluster/request_queue.hpp"

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include <flint/sdk/errors.hpp>

#include "files/base64.hpp"

namespace flint::cluster {
namespace {

namespace json = boost::json;

security::CredentialVault key(char digit) {
  return security::CredentialVault::from_hex_key(std::string(64, digit), "test key");
}

// Stands in for the API's execute decoder: needs a lifecycle name.
service::ExecuteCommand decode_body(const json::value& body) {
  const auto* name = body.is_object() ? body.as_object().if_contains("lifecycleName") : nullptr;
  if (!name || !name->is_string()) throw sdk::InvalidRequestError("lifecycleName: required");
  service::ExecuteCommand command;
  command.lifecycle_name = name->get_string();
  return command;
}

// The value of a record holding `plain`, sealed as the queue seals it.
std::string sealed(std::string_view request_id, std::string_view plain, char digit = '1') {
  return files::encode_base64(key(digit).seal(plain, request_id));
}

// Why decode_record refuses the record, or "" when it takes it.
std::string refusal(std::string_view record_key, std::string_view value) {
  try {
    RequestQueue::decode_record(record_key, value, key('1'), decode_body);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(RequestQueueRecord, RoundTripsARequestUnderItsId) {
  const service::CallOrigin origin{.log_fields = {{"tracectx.TransactionId", "t-1"}},
                                   .tenant_id = "tenant-a"};
  const auto value = RequestQueue::encode_record(key('1'), "req-1", origin,
                                                 json::object{{"lifecycleName", "Create"}});
  const auto record = RequestQueue::decode_record("req-1", value, key('1'), decode_body);
  EXPECT_EQ(record.request_id, "req-1");
  EXPECT_EQ(record.command.lifecycle_name, "Create");
  EXPECT_EQ(record.origin.tenant_id, "tenant-a");
  EXPECT_EQ(record.origin.log_fields, origin.log_fields);
  EXPECT_EQ(record.origin.promised_request_id, "req-1");
}

TEST(RequestQueueRecord, RefusesRecordsNamingWhy) {
  const auto value =
      RequestQueue::encode_record(key('1'), "req-1", {}, json::object{{"lifecycleName", "Create"}});
  EXPECT_EQ(refusal("", value), "the record has no key");
  EXPECT_EQ(refusal("req 1", value),
            "the record key is not a usable request id: it has a character other than printable "
            "ASCII without space, /, ?, #, %, \" or \\");
  EXPECT_EQ(refusal("req-1", "not base64!"), "the value is not base64");
  // Bound to its key, and to the cluster key.
  EXPECT_EQ(refusal("req-2", value).rfind("cannot open it under the cluster key: ", 0), 0u);
  EXPECT_EQ(refusal("req-1", sealed("req-1", "{}", '2')).rfind("cannot open it", 0), 0u);
  EXPECT_EQ(refusal("req-1", sealed("req-1", "{")).rfind("not JSON: ", 0), 0u);
  EXPECT_EQ(refusal("req-1", sealed("req-1", "[]")), "not a JSON object");
  EXPECT_EQ(refusal("req-1", sealed("req-1", R"({"requestId":"req-1"})")), "format: required");
  EXPECT_EQ(refusal("req-1", sealed("req-1", R"({"format":2,"requestId":"req-1"})")),
            "format: 2 is not the record format this node reads (1): a newer Flint wrote it?");
  EXPECT_EQ(refusal("req-1", sealed("req-1", R"({"format":1,"requestId":"req-2"})")),
            "requestId: must be a string equal to the record key");
  EXPECT_EQ(refusal("req-1", sealed("req-1", R"({"format":1,"requestId":"req-1"})")),
            "tenantId: required");
  EXPECT_EQ(refusal("req-1", sealed("req-1", R"({"format":1,"requestId":"req-1","tenantId":1})")),
            "tenantId: expected a string");
  EXPECT_EQ(refusal("req-1", sealed("req-1", R"({"format":1,"requestId":"req-1","tenantId":"",)"
                                             R"("logFields":[],"request":{}})")),
            "request.lifecycleName: required");
}

TEST(RequestQueueRecord, RefusesLogFieldsThatAreNotPairsOfStrings) {
  // Found by fuzz_queue_record: these escaped as std::invalid_argument or
  // std::out_of_range, whose message does not name the field.
  for (const std::string_view log_fields :
       {"1", "[1]", R"([["a"]])", R"([["a","b","c"]])", R"([["a",1]])", R"({"a":"b"})"}) {
    const std::string plain = R"({"format":1,"requestId":"req-1","tenantId":"","logFields":)" +
                              std::string(log_fields) + R"(,"request":{}})";
    EXPECT_EQ(refusal("req-1", sealed("req-1", plain)),
              "logFields: expected an array of [name, value] pairs of strings")
        << log_fields;
  }
}

}  // namespace
}  // namespace flint::cluster
