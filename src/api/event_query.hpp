#pragma once

/// @file
/// The query parameters of the event routes (`GET /api/events` and
/// `GET /api/events/stream`), read apart from the routes so that a fuzzer
/// reaches them without a server.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace flint::api {

/// Tuning of the event routes; the defaults are the documented behaviour.
struct EventRoutesOptions {
  /// Longest long poll (`wait`) accepted, in seconds.
  int max_wait_seconds = 60;
  /// Largest page (`limit`) accepted.
  int max_limit = 1000;
  /// A stream with nothing to send writes a `: keep-alive` comment this often.
  std::chrono::milliseconds keep_alive{15'000};
  /// How often an idle stream checks whether the server is stopping.
  std::chrono::milliseconds stop_check{1'000};
  /// A page stops early once its payloads reach this (one event at least).
  std::size_t max_page_bytes = 4 << 20;
  /// Pages built and not yet written, across connections, at most: past it
  /// a page is cut to 64 KiB (one event at least). A reader that does not
  /// read its reply holds it until `http.read_timeout`.
  std::size_t pages_budget_bytes = 64 << 20;
};

/// Where a reader resumes: after sequence number `after`, whose event it saw
/// as `seen_id` (`afterId`, to be checked against the log).
struct ReaderPosition {
  std::int64_t after = 0;
  std::optional<std::string> seen_id;
};

/// What `GET /api/events` asks for.
struct EventsQuery {
  ReaderPosition position;
  std::int64_t limit = 100;
  std::int64_t wait = 0;
};

/// Reads `after`, `afterId`, `limit` and `wait` from `target` (the request
/// target, path and query). Unknown parameters are ignored (cache busters
/// and the like); a known one given twice is an error.
/// @throws ApiError 400 naming the parameter and what it expects.
EventsQuery parse_events_query(std::string_view target, const EventRoutesOptions& options);

/// Where `GET /api/events/stream` starts: `after` and `afterId` from `target`,
/// unless `last_event_id` (the `Last-Event-ID` header's value, when sent)
/// names another sequence number, which then wins without `afterId`.
/// @throws ApiError 400 naming the parameter or header and what it expects.
ReaderPosition parse_stream_start(std::string_view target,
                                  std::optional<std::string_view> last_event_id);

}  // namespace flint::api
