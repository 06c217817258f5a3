// libFuzzer target: records of the request queue (cluster mode), decoded as
// the queue's worker decodes what it reads from Kafka, with the API's execute
// decoder.
//
// The input is `<record key>\n<plaintext record>`: the plaintext is sealed
// under a fixed cluster key with the record key bound, so that the fuzzer
// reaches the JSON decoding behind the seal. An input without a newline is
// the record's value itself, under the key "req-1" (base64 and the seal).
// The worker reads no headers. RequestQueue::decode_record documents
// std::runtime_error for every bad record (the worker sends it to the
// dead-letter topic with that reason): anything else escaping it is a bug,
// and so is a record accepted under a key that is not a usable request id.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include <flint/sdk/ids.hpp>

#include "api/resource_driver_requests.hpp"
#include "cluster/request_queue.hpp"
#include "sealed_record_input.hpp"
#include "service/resource_driver_service.hpp"

namespace {

using flint::cluster::RequestQueue;
using flint::fuzz::check;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const RequestQueue::Decode decode = flint::api::decode_execute_request;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto [key, value] = flint::fuzz::sealed_record(input);
  RequestQueue::Record record;
  try {
    record = RequestQueue::decode_record(key, value, flint::fuzz::fuzz_vault(), decode);
  } catch (const std::runtime_error&) {
    return 0;  // refused, as documented
  } catch (...) {
    std::abort();
  }
  check(record.request_id == key && record.origin.promised_request_id == key);
  check(flint::sdk::unusable_request_id(record.request_id).empty());
  return 0;
}
