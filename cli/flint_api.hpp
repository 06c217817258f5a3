#pragma once

/// @file
/// The calls the CLI makes to a Flint server, on top of `HttpClient`.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "http_client.hpp"

namespace flint::cli {

/// The server answered with an error status (or a body the CLI cannot use).
/// `what()` is one line: the call and the server's `localizedMessage`, e.g.
/// `POST /api/driver/lifecycle/execute: 400: invalid lifecycle name "X"`.
class ApiError : public std::runtime_error {
 public:
  /// An error for HTTP status `status` (0 when the reply was unusable).
  ApiError(unsigned status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  /// The HTTP status, or 0 when the body was malformed.
  unsigned status() const noexcept { return status_; }

 private:
  unsigned status_;
};

/// The human text of an error reply: its `localizedMessage` when the body is
/// the contract's error object, else the trimmed body (first line, at most
/// 200 bytes), else the reason phrase. Pure function.
std::string error_text(const HttpResponse& response);

/// One event of the embedded event log.
struct Event {
  /// Sequence number (strictly increasing along the log).
  std::uint64_t seq = 0;
  /// The event's id (empty when absent).
  std::string id;
  /// The event's topic, e.g. `lifecycle_execution_events` or
  /// `infrastructure_task_events` (empty when absent).
  std::string topic;
  /// The event's key (for an infrastructure task, its request id); empty
  /// when absent or null.
  std::string key;
  /// The payload's `requestId` (empty when absent).
  std::string request_id;
  /// The payload (the contract's lifecycle event), or an empty object.
  boost::json::object payload;
  /// The whole event as received.
  boost::json::object raw;
};

/// A reader's place in the event log: after sequence number `seq`, where it
/// saw the event `id` (empty when it has not seen that event, e.g. at the
/// head it started from). Sent as `after` and `afterId`, so that a log
/// restored from a backup or replaced is answered with 409 instead of
/// being read past.
struct EventLogPosition {
  /// Events after this sequence number come next.
  std::uint64_t seq = 0;
  /// The id of the event at `seq`; empty = not known.
  std::string id;
};

/// One page of `GET /api/events`.
struct EventsPage {
  /// Events after the requested sequence number, in order.
  std::vector<Event> events;
  /// The server's `lastSeq`.
  std::uint64_t last_seq = 0;

  /// Where the next page starts: the last event (its sequence number and
  /// id), or, when the page is empty, `lastSeq` (id unknown) if it is past
  /// `from`, else `from` itself.
  EventLogPosition next(const EventLogPosition& from) const;
};

/// Decodes a `GET /api/events` body.
/// @throws ApiError (status 0) naming the field when the shape is wrong.
EventsPage parse_events_page(const boost::json::value& body);

/// Client of the Flint REST API.
///
/// Every method throws `HttpError` when the exchange fails and `ApiError`
/// when the server answers with an unexpected status. Not thread-safe.
class FlintApi {
 public:
  /// Calls the server through `http` (not owned; must outlive this object).
  /// With a `deadline` (a command's `--timeout`), no call outlasts it: each
  /// one's own time limit is cut to the time left.
  explicit FlintApi(HttpClient& http,
                    std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt)
      : http_(http), deadline_(deadline) {}

  /// `POST /api/driver/lifecycle/execute`; returns the 202 body (it has a
  /// string `requestId`). `tenant_id` becomes the `tenantId` header.
  boost::json::object execute(const boost::json::object& request,
                              const std::optional<std::string>& tenant_id);

  /// `POST /api/driver/references/find`; returns `result` (an object, or null
  /// when nothing was found).
  boost::json::value find(const boost::json::object& request);

  /// `GET /api/events?after=&afterId=&limit=&wait=`: long-polls up to
  /// `wait` when no event follows `after` (`afterId` only when `after.id` is
  /// known). @throws ApiError with status 409 when the log does not hold
  /// `after.id` at `after.seq` (it was restored or replaced).
  EventsPage events(const EventLogPosition& after, std::size_t limit, std::chrono::seconds wait);

  /// The sequence number of the newest event in the log (`lastSeq`), read
  /// without waiting. Asks for one event rather than none: servers accept a
  /// `limit` from 1 only.
  std::uint64_t head_seq();

  /// `GET /api/driver/lifecycle/executions/{id}`: the durable record, or
  /// nullopt when the server does not know the id (or lacks this extension).
  std::optional<boost::json::object> execution(std::string_view request_id);

  /// As `execution`, but only an unknown id is nullopt: a server without
  /// this extension (404) throws `ApiError`.
  std::optional<boost::json::object> execution_record(std::string_view request_id);

  /// One page of `GET /api/driver/lifecycle/executions`.
  struct ExecutionsPage {
    /// The records, oldest acceptance first.
    std::vector<boost::json::object> executions;
    /// The `after` of the next page; nullopt on the last one.
    std::optional<std::string> next;
  };
  /// `GET /api/driver/lifecycle/executions?limit=&after=`: the records of
  /// the executions the server monitors now, `limit` (1 to 500) of them
  /// after the page that ended with `after` (from the oldest without it).
  /// @throws ApiError naming the field when the page's shape is wrong.
  ExecutionsPage monitored_executions(const std::optional<std::string>& after, std::size_t limit);

  /// `GET /api/drivers`: the drivers the server hosts, its skipped
  /// libraries and its routing rules.
  boost::json::object drivers();

  /// `GET /management/health`: the vitals, whether the server answered 200
  /// (no vital `UNHEALTHY`) or 503 (some vital is).
  struct Health {
    /// 200 rather than 503.
    bool healthy = false;
    /// The body, `{"vitals": {...}}`.
    boost::json::object body;
  };
  /// @throws ApiError for any other status, or a body without `vitals`.
  Health health();

  /// `POST /api/infrastructure/create`; returns the 202 body (it has
  /// non-empty string `infrastructureId` and `requestId`). `tenant_id`
  /// becomes the `tenantId` header.
  boost::json::object create_infrastructure(const boost::json::object& request,
                                            const std::optional<std::string>& tenant_id);

  /// `POST /api/infrastructure/delete`; returns the 202 body, as
  /// `create_infrastructure`.
  boost::json::object delete_infrastructure(const boost::json::object& request,
                                            const std::optional<std::string>& tenant_id);

  /// `POST /api/infrastructure/query`; returns the task (it has a string
  /// `status`). Unknown infrastructure or request is the contract's 400,
  /// thrown as `ApiError` with status 400.
  boost::json::object query_infrastructure(const boost::json::object& request,
                                           const std::optional<std::string>& tenant_id);

  /// `POST /api/infrastructure/find`; returns `result` (an object, or null
  /// when nothing was found).
  boost::json::value find_infrastructure(const boost::json::object& request,
                                         const std::optional<std::string>& tenant_id);

  /// The server address (for messages).
  const BaseUrl& base() const noexcept { return http_.base(); }

 private:
  // `limit`, cut to the time left before the deadline (at least 1 ms).
  std::chrono::milliseconds bounded(std::chrono::milliseconds limit) const;

  HttpClient& http_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
};

}  // namespace flint::cli
