#include "http/error_response.hpp"

#include <string>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace flint::http {

Response json_response(Status status, std::string body, unsigned version, bool keep_alive) {
  Response response(status, version);
  response.set(beast_http::field::content_type, "application/json");
  response.keep_alive(keep_alive);
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

Response error_response(Status status, std::string_view message, unsigned version,
                        bool keep_alive) {
  boost::json::object body;
  body["localizedMessage"] = message;
  body["status"] = static_cast<int>(status);
  Response response = json_response(status, boost::json::serialize(body), version, keep_alive);
  // Every 503 is "retry later": say when, so that clients which honour the
  // header (urllib3's Retry, Spring's) back off instead of retrying at once.
  // A caller that knows better (an open breaker) sets its own.
  if (status == Status::service_unavailable) {
    response.set(beast_http::field::retry_after, std::to_string(kDefaultRetryAfter.count()));
  }
  return response;
}

}  // namespace flint::http
