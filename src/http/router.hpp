#pragma once

/// @file
/// Maps (method, path) to a handler. Built once at start, then read-only.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "http/http_types.hpp"
#include "http/request_context.hpp"

namespace flint::http {

/// A request handler: a coroutine on the connection's executor. It must not
/// block (driver code goes through the driver executor). Exceptions it lets
/// escape become a 500 with a generic message (the detail is logged).
using Handler = std::function<boost::asio::awaitable<Response>(Request&, RequestContext&)>;

/// Routing table with exact and prefix routes.
///
/// Not thread-safe while being built; after `HttpServer::start` it is only
/// read, from any thread.
class Router {
 public:
  /// Result of a lookup.
  struct Match {
    /// The handler, or null when nothing matched.
    const Handler* handler = nullptr;
    /// The route pattern (a metrics label): the registered path, or
    /// `unmatched`.
    std::string_view route = "unmatched";
    /// True when the path exists but not for this method (405).
    bool method_not_allowed = false;
    /// Allowed methods for the path when `method_not_allowed` (for `Allow`).
    std::string allow;
    /// The media type the handler's body must have, or empty (see `add`).
    std::string_view body_media_type;
  };

  /// Routes `method path` (exact match, no query string) to `handler`.
  /// `body_media_type` (`application/json`), when given, lets the server
  /// refuse a body of another type (415) before inviting it with a
  /// `100 Continue`; the handler still checks it otherwise.
  void add(Method method, std::string path, Handler handler, std::string_view body_media_type = {});
  /// Routes `method` on every path starting with `prefix` to `handler`.
  void add_prefix(Method method, std::string prefix, Handler handler);

  /// Finds the handler for `method` on `path` (query string already removed).
  Match find(Method method, std::string_view path) const;

 private:
  struct Route {
    Method method;
    std::string path;
    bool prefix;
    Handler handler;
    std::string body_media_type;
  };
  std::vector<Route> routes_;
};

}  // namespace flint::http
