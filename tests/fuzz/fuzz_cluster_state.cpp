// libFuzzer target: records of the cluster's execution-state topic, decoded
// as a node's owner and view threads decode what they read from Kafka.
//
// The input is `<record key>\n<plaintext record>`: the plaintext is sealed
// under a fixed cluster key with the record key bound, so that the fuzzer
// reaches the JSON decoding behind the seal. An input without a newline is
// the topic value itself, under the key "req-1" (base64 and the seal).
// StateCodec::decode documents std::runtime_error for every bad record (the
// view skips a record on std::runtime_error): anything else escaping it is a
// bug, and so is a decoded record that does not survive encode and decode.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>

#include "cluster/state_codec.hpp"
#include "sealed_record_input.hpp"

namespace {

using flint::cluster::StateCodec;
using flint::cluster::StateRecord;
using flint::fuzz::check;
using flint::service::AcceptedExecution;
using flint::service::ExecutionEnding;

const StateCodec& codec() {
  static const StateCodec instance(
      flint::security::CredentialVault::from_hex_key(std::string(64, '7'), "fuzz key"));
  return instance;
}

// A decoded record encodes and decodes to the same record.
void check_round_trip(std::string_view key, const StateRecord& record) {
  if (const auto* accepted = std::get_if<AcceptedExecution>(&record)) {
    const auto again = std::get<AcceptedExecution>(codec().decode(key, codec().encode(*accepted)));
    check(again.request_id == accepted->request_id && again.driver == accepted->driver &&
          again.lifecycle_name == accepted->lifecycle_name &&
          again.tenant_id == accepted->tenant_id && again.accepted_at == accepted->accepted_at &&
          again.deadline_at == accepted->deadline_at &&
          again.associated_topology == accepted->associated_topology && again.job == accepted->job);
  } else {
    const auto& ending = std::get<ExecutionEnding>(record);
    const auto again = std::get<ExecutionEnding>(codec().decode(key, codec().encode(ending)));
    check(again.request_id == ending.request_id && again.status == ending.status &&
          again.failure_code == ending.failure_code &&
          again.failure_description == ending.failure_description &&
          again.outputs == ending.outputs &&
          again.associated_topology == ending.associated_topology &&
          again.monitoring == ending.monitoring && again.ended_at == ending.ended_at);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto [key, value] = flint::fuzz::sealed_record(input);
  StateRecord record;
  try {
    record = codec().decode(key, value);
  } catch (const std::runtime_error&) {
    return 0;  // refused, as documented
  } catch (...) {
    std::abort();
  }
  check_round_trip(key, record);
  return 0;
}
