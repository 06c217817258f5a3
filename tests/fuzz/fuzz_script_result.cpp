// libFuzzer target: what a lifecycle or Find script of a driver package
// leaves behind (its result file and its standard error), turned into an
// execution or a found reference as the script driver does.
//
// Scripts come with uploaded driver packages: their output is untrusted.
// `lifecycle_result` never throws on bad output and `find_result` throws
// only sdk::ResourceDriverError; descriptions built from the output are
// valid UTF-8 (they go into JSON); the private-key masking of stderr gives
// the same result whether the text was tracked in one piece or in two.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <fuzzer/FuzzedDataProvider.h>

#include <flint/sdk/errors.hpp>
#include <flint/sdk/json.hpp>

#include "script/script_result.hpp"

namespace {

namespace script = flint::drivers::script;

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  const int exit_code = input.ConsumeIntegralInRange<int>(0, 255);
  const std::size_t tail_bytes = input.ConsumeIntegralInRange<std::size_t>(0, 256);
  const bool has_file = input.ConsumeBool();
  const std::string stderr_text = input.ConsumeRandomLengthString(2048);
  const std::string result_text = input.ConsumeRemainingBytesAsString();
  const script::ResultFile file =
      has_file ? script::ResultFile(result_text) : script::ResultFile(std::nullopt);

  try {
    const auto execution =
        script::lifecycle_result("req-1", "Create", exit_code, file, stderr_text, tail_bytes);
    check(execution.failure_details.has_value() ==
          (execution.status == flint::sdk::ExecutionStatus::failed));
    if (execution.failure_details) {
      check(flint::sdk::json::is_valid_utf8(execution.failure_details->description));
    }
    (void)flint::sdk::json::encode(execution);
  } catch (...) {
    std::abort();
  }
  try {
    (void)script::find_result(file);
  } catch (const flint::sdk::ResourceDriverError& error) {
    check(flint::sdk::json::is_valid_utf8(error.what()));
  } catch (...) {
    std::abort();
  }

  // stderr: its tail and UTF-8 repair.
  check(flint::sdk::json::is_valid_utf8(script::stderr_tail(stderr_text, tail_bytes)));
  const std::string repaired = script::sanitize_utf8(stderr_text);
  check(flint::sdk::json::is_valid_utf8(repaired));
  if (flint::sdk::json::is_valid_utf8(stderr_text)) check(repaired == stderr_text);

  // The key tracker is a stream scanner: stderr = A + B + C, with A and B
  // fed in one piece or in two, masks C the same way. Only how much of the
  // text before C each keeps (and puts before C) may differ: one result is
  // the end of the other.
  const std::size_t first = tail_bytes % (stderr_text.size() + 1);
  const std::size_t second = first + (exit_code % (stderr_text.size() - first + 1));
  const std::string_view all = stderr_text;
  script::PrivateKeyTracker whole;
  whole.feed(all.substr(0, second));
  script::PrivateKeyTracker pieces;
  pieces.feed(all.substr(0, first));
  pieces.feed(all.substr(first, second - first));
  const std::string one = script::mask_private_keys(whole.resume(), all.substr(second));
  const std::string two = script::mask_private_keys(pieces.resume(), all.substr(second));
  check(one.size() >= two.size() ? one.ends_with(two) : two.ends_with(one));
  return 0;
}
