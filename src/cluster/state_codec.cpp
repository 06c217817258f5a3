#include "cluster/state_codec.hpp"

#include <stdexcept>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/system/system_error.hpp>

#include <flint/sdk/json.hpp>

#include "files/base64.hpp"

namespace flint::cluster {

namespace json = boost::json;

namespace {

constexpr int kFormat = 1;

std::string text(const json::object& record, std::string_view name) {
  return std::string(record.at(name).as_string());
}

}  // namespace

std::string StateCodec::encode(const service::AcceptedExecution& execution) const {
  const json::object record{{"format", kFormat},
                            {"type", "accepted"},
                            {"requestId", execution.request_id},
                            {"driver", execution.driver},
                            {"lifecycleName", execution.lifecycle_name},
                            {"tenantId", execution.tenant_id},
                            {"acceptedAt", execution.accepted_at},
                            {"deadlineAt", execution.deadline_at},
                            {"associatedTopology", execution.associated_topology},
                            {"job", execution.job}};
  return files::encode_base64(key_.seal(json::serialize(record), execution.request_id));
}

std::string StateCodec::encode(const service::ExecutionEnding& ending) const {
  json::object record{{"format", kFormat},
                      {"type", "ended"},
                      {"requestId", ending.request_id},
                      {"status", ending.status},
                      {"failureDescription", ending.failure_description},
                      {"outputs", ending.outputs},
                      {"associatedTopology", ending.associated_topology},
                      {"monitoring", ending.monitoring},
                      {"endedAt", ending.ended_at}};
  if (ending.failure_code) record["failureCode"] = *ending.failure_code;
  return files::encode_base64(key_.seal(json::serialize(record), ending.request_id));
}

StateRecord StateCodec::decode(std::string_view key, std::string_view value) const {
  const auto sealed = files::decode_base64(value);
  if (!sealed) throw std::runtime_error("the value is not base64");
  std::string plain;
  try {
    plain = key_.open(*sealed, key);
  } catch (const security::VaultError& e) {
    throw std::runtime_error(std::string("cannot open it under the cluster key: ") + e.what());
  }
  try {
    const json::object record = sdk::json::parse_stored(plain).as_object();
    if (record.at("format").to_number<int>() != kFormat) {
      throw std::runtime_error("unknown format " + json::serialize(record.at("format")));
    }
    const std::string type = text(record, "type");
    if (text(record, "requestId") != key) throw std::runtime_error("its requestId is not its key");
    if (type == "accepted") {
      return service::AcceptedExecution{
          .request_id = text(record, "requestId"),
          .driver = text(record, "driver"),
          .lifecycle_name = text(record, "lifecycleName"),
          .tenant_id = text(record, "tenantId"),
          .accepted_at = record.at("acceptedAt").to_number<std::int64_t>(),
          .deadline_at = record.at("deadlineAt").to_number<std::int64_t>(),
          .associated_topology = record.at("associatedTopology"),
          .job = record.at("job").as_object()};
    }
    if (type == "ended") {
      service::ExecutionEnding ending{.request_id = text(record, "requestId"),
                                      .status = text(record, "status"),
                                      .failure_description = text(record, "failureDescription"),
                                      .outputs = record.at("outputs"),
                                      .associated_topology = record.at("associatedTopology"),
                                      .monitoring = text(record, "monitoring"),
                                      .ended_at = record.at("endedAt").to_number<std::int64_t>()};
      if (const auto* code = record.if_contains("failureCode")) {
        ending.failure_code = std::string(code->as_string());
      }
      return ending;
    }
    throw std::runtime_error("unknown record type \"" + type + "\"");
  } catch (const boost::system::system_error& e) {  // not JSON, or a number that does not fit
    throw std::runtime_error(std::string("malformed record: ") + e.what());
  } catch (const std::logic_error& e) {
    // Boost.JSON's at() and as_*() throw std::out_of_range and
    // std::invalid_argument for a missing or mistyped field: callers skip a
    // bad record on std::runtime_error only (the view would retry it forever).
    throw std::runtime_error(std::string("malformed record: ") + e.what());
  }
}

}  // namespace flint::cluster
