#include "http/router.hpp"

namespace flint::http {

void Router::add(Method method, std::string path, Handler handler,
                 std::string_view body_media_type) {
  routes_.push_back(
      {method, std::move(path), false, std::move(handler), std::string(body_media_type)});
}

void Router::add_prefix(Method method, std::string prefix, Handler handler) {
  routes_.push_back({method, std::move(prefix), true, std::move(handler), {}});
}

Router::Match Router::find(Method method, std::string_view path) const {
  // A handful of routes: a linear scan beats any tree here.
  Match match;
  for (const Route& route : routes_) {
    const bool path_matches = route.prefix ? path.starts_with(route.path) : path == route.path;
    if (!path_matches) continue;
    // A GET route answers HEAD too; the server drops the body.
    if (route.method == method || (method == Method::head && route.method == Method::get)) {
      match.handler = &route.handler;
      match.route = route.path;
      match.method_not_allowed = false;
      match.body_media_type = route.body_media_type;
      return match;
    }
    match.method_not_allowed = true;
    match.route = route.path;
    if (!match.allow.empty()) match.allow += ", ";
    match.allow += std::string(beast_http::to_string(route.method));
    if (route.method == Method::get) match.allow += ", HEAD";
  }
  return match;
}

}  // namespace flint::http
