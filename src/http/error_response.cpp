#include "http/error_response.hpp"

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
  return json_response(status, boost::json::serialize(body), version, keep_alive);
}

}  // namespace flint::http
