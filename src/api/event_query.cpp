#include "api/event_query.hpp"

#include <limits>
#include <string>

#include <fmt/format.h>

#include <flint/sdk/json.hpp>

#include "api/api_error.hpp"
#include "api/query_params.hpp"

namespace flint::api {
namespace {

constexpr std::int64_t kMaxSeq = std::numeric_limits<std::int64_t>::max();
constexpr std::string_view kSeqExpected = "an integer from 0 to 9223372036854775807";

QueryParams query_params(std::string_view request_target) {
  return known_query_params(request_target, {"after", "afterId", "limit", "wait"});
}

ReaderPosition parse_position(const QueryParams& params) {
  ReaderPosition position;
  if (const auto* after = query_param(params, "after")) {
    position.after = parse_query_integer("after", *after, 0, kMaxSeq, kSeqExpected);
  }
  if (const auto* after_event_id = query_param(params, "afterId")) {
    if (position.after == 0) {
      throw ApiError(http::Status::bad_request,
                     "afterId: needs after >= 1, the sequence number of that event (no event "
                     "has 0)");
    }
    if (after_event_id->empty() || after_event_id->size() > sdk::json::kMaxNameBytes) {
      throw ApiError(
          http::Status::bad_request,
          fmt::format("afterId: expected an event id of 1 to {} bytes", sdk::json::kMaxNameBytes));
    }
    position.seen_id = *after_event_id;
  }
  return position;
}

}  // namespace

EventsQuery parse_events_query(std::string_view target, const EventRoutesOptions& options) {
  const QueryParams params = query_params(target);
  EventsQuery query;
  query.position = parse_position(params);
  if (const auto* limit = query_param(params, "limit")) {
    query.limit = parse_query_integer("limit", *limit, 1, options.max_limit,
                                      fmt::format("an integer from 1 to {}", options.max_limit));
  }
  if (const auto* wait = query_param(params, "wait")) {
    query.wait = parse_query_integer(
        "wait", *wait, 0, options.max_wait_seconds,
        fmt::format("an integer number of seconds from 0 to {}", options.max_wait_seconds));
  }
  return query;
}

ReaderPosition parse_stream_start(std::string_view target,
                                  std::optional<std::string_view> last_event_id) {
  ReaderPosition position = parse_position(query_params(target));
  // Last-Event-ID is what a reconnecting EventSource sends, with the URL it
  // first opened: it wins, and `afterId` (which names the event at `after`)
  // is checked only while the two agree.
  if (last_event_id) {
    const std::int64_t resumed =
        parse_query_integer("Last-Event-ID", *last_event_id, 0, kMaxSeq, kSeqExpected);
    if (resumed != position.after) position = {resumed, std::nullopt};
  }
  return position;
}

}  // namespace flint::api
