#pragma once

/// @file
/// What the host knows about a request beyond its bytes: trace context,
/// tenant, the matched route.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

#include "http/http_types.hpp"
#include "http/response_stream.hpp"
#include "logging/log_context.hpp"

namespace flint::http {

/// Per-request context, created by the server for each request and passed to
/// its handler. Lives on the connection's executor: not thread-safe.
struct RequestContext {
  /// Log fields of the request: `tracectx.<suffix>` for every `x-tracectx-*`
  /// header (suffix lower-cased) and `tenantId` when the header is present.
  logging::LogFields log_fields;
  /// The `tenantId` header, or empty.
  std::string tenant_id;
  /// The route pattern that matched (a metrics label), e.g.
  /// `/api/driver/lifecycle/execute`.
  std::string_view route;
  /// The request path without its query string.
  std::string_view path;
  /// The driver the request was routed to, once the service knows it (a
  /// refusal's log line names it), or empty.
  std::string driver;
  /// When the request was fully read.
  std::chrono::steady_clock::time_point received_at;
  /// Set by a handler that streams its body: the returned response is then
  /// sent as the head only (no Content-Length; the connection closes when
  /// the stream ends).
  StreamBody stream;
  /// Set by a handler whose reply holds something until it is written (a
  /// share of a memory budget): the server keeps it until then.
  std::shared_ptr<const void> keep_until_sent;
  /// The client's socket, set by the server (-1: unknown); see `peer_closed`.
  int peer_socket = -1;

  /// Whether the client has closed its side of the connection (a client
  /// that only shut down its sending side counts: as for a proxy, that ends
  /// its long polls), or the connection broke: a long poll need not wait on
  /// for it. False when unknown.
  bool peer_closed() const;

  /// The client's IP address (`127.0.0.1`, `::1`), or `an unknown client`:
  /// for the log lines of refusals. A system call: not for every request.
  std::string peer_address() const;

  /// Builds the context of `request` (headers only).
  static RequestContext from(const Request& request);

  /// Writes one log line carrying this request's fields. Safe to call from a
  /// coroutine: the log scope never spans a suspension.
  void log(spdlog::logger& logger, spdlog::level::level_enum level,
           std::string_view message) const {
    logging::ScopedLogContext scope(log_fields);
    logger.log(level, message);
  }
};

}  // namespace flint::http
