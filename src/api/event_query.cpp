#include "api/event_query.hpp"

#include <charconv>
#include <limits>

#include <boost/url/parse.hpp>
#include <fmt/format.h>

#include <flint/sdk/json.hpp>

#include "api/api_error.hpp"

namespace flint::api {
namespace {

// Reads an integer in [min, max], or throws a 400 naming `name`.
std::int64_t parse_integer(std::string_view name, std::string_view text, std::int64_t min,
                           std::int64_t max, std::string_view expected) {
  std::int64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  // from_chars takes a leading '-', never '+' or spaces; bounds catch '-'.
  if (text.empty() || ec != std::errc() || ptr != end || value < min || value > max) {
    throw ApiError(http::Status::bad_request, fmt::format("{}: expected {}", name, expected));
  }
  return value;
}

constexpr std::int64_t kMaxSeq = std::numeric_limits<std::int64_t>::max();
constexpr std::string_view kSeqExpected = "an integer from 0 to 9223372036854775807";

// Query parameters by name; a parameter given twice is an error, unknown
// ones are ignored (cache busters and the like).
struct QueryParams {
  std::optional<std::string> after;
  std::optional<std::string> after_event_id;
  std::optional<std::string> limit;
  std::optional<std::string> wait;
};

QueryParams query_params(std::string_view request_target) {
  auto target = boost::urls::parse_origin_form(request_target);
  if (!target) {
    throw ApiError(http::Status::bad_request, "request target: not a valid path and query");
  }
  QueryParams params;
  for (const auto param : target->params()) {
    std::optional<std::string>* slot = nullptr;
    if (param.key == "after") slot = &params.after;
    if (param.key == "afterId") slot = &params.after_event_id;
    if (param.key == "limit") slot = &params.limit;
    if (param.key == "wait") slot = &params.wait;
    if (slot == nullptr) continue;
    if (slot->has_value()) {
      throw ApiError(http::Status::bad_request,
                     fmt::format("{}: given more than once", std::string_view(param.key)));
    }
    *slot = std::string(param.value);
  }
  return params;
}

ReaderPosition parse_position(const QueryParams& params) {
  ReaderPosition position;
  if (params.after) {
    position.after = parse_integer("after", *params.after, 0, kMaxSeq, kSeqExpected);
  }
  if (params.after_event_id) {
    if (position.after == 0) {
      throw ApiError(http::Status::bad_request,
                     "afterId: needs after >= 1, the sequence number of that event (no event "
                     "has 0)");
    }
    if (params.after_event_id->empty() ||
        params.after_event_id->size() > sdk::json::kMaxNameBytes) {
      throw ApiError(
          http::Status::bad_request,
          fmt::format("afterId: expected an event id of 1 to {} bytes", sdk::json::kMaxNameBytes));
    }
    position.seen_id = params.after_event_id;
  }
  return position;
}

}  // namespace

EventsQuery parse_events_query(std::string_view target, const EventRoutesOptions& options) {
  const QueryParams params = query_params(target);
  EventsQuery query;
  query.position = parse_position(params);
  if (params.limit) {
    query.limit = parse_integer("limit", *params.limit, 1, options.max_limit,
                                fmt::format("an integer from 1 to {}", options.max_limit));
  }
  if (params.wait) {
    query.wait = parse_integer(
        "wait", *params.wait, 0, options.max_wait_seconds,
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
        parse_integer("Last-Event-ID", *last_event_id, 0, kMaxSeq, kSeqExpected);
    if (resumed != position.after) position = {resumed, std::nullopt};
  }
  return position;
}

}  // namespace flint::api
