#pragma once

/// @file
/// The event log API: `GET /api/events` (long poll) and
/// `GET /api/events/stream` (Server-Sent Events).

#include <string>

#include "api/event_query.hpp"
#include "events/event_log.hpp"
#include "http/router.hpp"
#include "service/execution_records.hpp"

namespace flint::api {

/// Adds the event log routes:
/// - `GET /api/events?after=SEQ&limit=N&wait=SECONDS`: 200
///   `{"events": [EVENT...], "lastSeq": N}`; waits up to `wait` seconds for a
///   first event after `after` when there is none yet.
/// - `GET /api/events/stream?after=SEQ`: `text/event-stream`, one SSE event
///   per log event (`id` = seq, `event` = topic, `data` = EVENT), resumable
///   with `Last-Event-ID` (which wins over `after`).
///
/// A bad parameter is answered 400 naming it. `log` must outlive the router
/// and every request in flight; call `log.stop_waiting()` when the server
/// starts stopping so that long polls answer at once.
void add_event_routes(http::Router& router, events::EventLog& log, EventRoutesOptions options = {});

/// The JSON of one event as the API shows it (one line): `{"seq", "id",
/// "topic", "key", "tenantId", "createdAt", "payload"}`, the payload spliced
/// in verbatim when it is a one-line JSON document.
std::string event_json(const events::LoggedEvent& event);

/// `createdAt` format: `2026-11-22T01:02:03.456Z` from Unix milliseconds.
using service::iso8601_utc;

}  // namespace flint::api
