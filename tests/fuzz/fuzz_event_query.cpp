// libFuzzer target: the query parameters of the event routes, read as the
// routes read them (`parse_events_query` for GET /api/events,
// `parse_stream_start` for GET /api/events/stream) with the default limits.
//
// The input is `<query>` or `<query>\n<Last-Event-ID value>`: the query is
// put after `/api/events?` as the request target (the HTTP parser passes on
// what it takes as a target; the routes parse it again), and the stream also
// gets the header when there is a newline. Both document ApiError 400 for a
// bad parameter: anything else escaping is a bug, and so is a query taken
// with a value out of its documented range.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include <flint/sdk/json.hpp>

#include "api/api_error.hpp"
#include "api/event_query.hpp"

namespace {

using flint::api::ApiError;
using flint::api::ReaderPosition;

void check(bool condition) {
  if (!condition) std::abort();
}

void check_position(const ReaderPosition& position) {
  check(position.after >= 0);
  if (position.seen_id) {
    check(position.after > 0 && !position.seen_id->empty() &&
          position.seen_id->size() <= flint::sdk::json::kMaxNameBytes);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const flint::api::EventRoutesOptions options;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string target = "/api/events?";
  std::optional<std::string_view> last_event_id;
  if (const auto newline = input.find('\n'); newline != std::string_view::npos) {
    target += input.substr(0, newline);
    last_event_id = input.substr(newline + 1);
  } else {
    target += input;
  }
  try {
    const auto query = flint::api::parse_events_query(target, options);
    check_position(query.position);
    check(query.limit >= 1 && query.limit <= options.max_limit);
    check(query.wait >= 0 && query.wait <= options.max_wait_seconds);
  } catch (const ApiError& e) {
    check(e.status() == flint::http::Status::bad_request);
  } catch (...) {
    std::abort();
  }
  try {
    check_position(flint::api::parse_stream_start(target, last_event_id));
  } catch (const ApiError& e) {
    check(e.status() == flint::http::Status::bad_request);
  } catch (...) {
    std::abort();
  }
  return 0;
}
