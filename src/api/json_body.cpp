#include "api/json_body.hpp"

#include <bitset>

#include <boost/beast/core/string.hpp>
#include <boost/json/stream_parser.hpp>
#include <fmt/format.h>

#include <flint/sdk/errors.hpp>
#include <flint/sdk/json.hpp>

#include "api/api_error.hpp"
#include "http/request_header_check.hpp"

namespace flint::api {

std::size_t count_json_values(std::string_view text, std::size_t limit) {
  std::size_t values = 1;  // the root
  std::bitset<kMaxJsonDepth + 1> in_array;
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  bool array_opened = false;  // an element or the ']' comes next
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (array_opened) {
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
      array_opened = false;
      if (c != ']') ++values;  // the first element
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case ':':  // a member's value
        ++values;
        break;
      case ',':  // in an array, the next element; in an object, the next key
        if (depth <= kMaxJsonDepth && in_array[depth]) ++values;
        break;
      case '[':
      case '{':
        // Deeper than the parser allows: it refuses the body anyway.
        if (++depth <= kMaxJsonDepth) in_array[depth] = c == '[';
        array_opened = c == '[';
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
    if (values > limit) break;
  }
  return values;
}

boost::json::value parse_json_body(const http::Request& request, boost::json::storage_ptr storage) {
  if (auto mismatch = http::media_type_mismatch(request, kJsonMediaType)) {
    throw ApiError(http::Status::unsupported_media_type, std::move(*mismatch));
  }
  const std::string& body = request.body();
  if (body.empty())
    throw ApiError(http::Status::bad_request, "request body: expected JSON, got nothing");

  // Each value takes at least two bytes ("1,"), so only a large body can
  // hold too many; counting costs a pass over it, well before its parse.
  if (body.size() > 2 * kMaxJsonValues &&
      count_json_values(body, kMaxJsonValues) > kMaxJsonValues) {
    throw ApiError(http::Status::payload_too_large,
                   fmt::format("request body: more than {} JSON values (objects, arrays, strings, "
                               "numbers and literals)",
                               kMaxJsonValues));
  }
  // The parser's working stack starts in this frame, too.
  alignas(std::max_align_t) unsigned char scratch[4096];
  boost::json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  boost::json::stream_parser parser({}, options, scratch, sizeof scratch);
  parser.reset(std::move(storage));
  boost::system::error_code ec;
  const std::size_t consumed = parser.write_some(body.data(), body.size(), ec);
  if (!ec && consumed < body.size()) {
    ec = boost::json::make_error_code(boost::json::error::extra_data);
  }
  if (!ec) parser.finish(ec);
  if (ec == boost::json::error::too_deep) {
    throw ApiError(http::Status::bad_request,
                   fmt::format("request body: JSON nested deeper than {} levels (at byte {})",
                               kMaxJsonDepth, consumed));
  }
  if (ec) {
    // Boost.JSON calls a byte that breaks UTF-8 a syntax error: say which.
    for (std::size_t at = 0; at < body.size() && at <= consumed;) {
      const std::size_t length = sdk::json::utf8_sequence(body, at);
      if (length == 0) {
        throw ApiError(
            http::Status::bad_request,
            fmt::format("request body: not valid UTF-8 at byte {} (JSON text is UTF-8)", at));
      }
      at += length;
    }
    throw ApiError(
        http::Status::bad_request,
        fmt::format("request body: malformed JSON at byte {}: {}", consumed, ec.message()));
  }
  boost::json::value value = parser.release();
  // The parser reads a number beyond a double's range as an infinity, which
  // no JSON text can hold: stored or sent on, it would not parse again.
  if (const auto where = sdk::json::find_non_finite(value, "")) {
    throw ApiError(http::Status::bad_request,
                   fmt::format("{}: number out of range (beyond a 64-bit float)",
                               where->empty() ? "request body" : *where));
  }
  return value;
}

const boost::json::object& body_object(const boost::json::value& body) {
  if (!body.is_object()) throw sdk::InvalidRequestError("request body: expected a JSON object");
  return body.get_object();
}

const boost::json::value& required_field(const boost::json::object& body, std::string_view field) {
  const boost::json::value* value = body.if_contains(field);
  if (value == nullptr || value->is_null()) {
    throw sdk::InvalidRequestError(std::string(field) + ": required");
  }
  return *value;
}

std::string required_string(const boost::json::object& body, std::string_view field) {
  const boost::json::value& value = required_field(body, field);
  if (!value.is_string())
    throw sdk::InvalidRequestError(std::string(field) + ": expected a string");
  if (value.get_string().empty()) {
    throw sdk::InvalidRequestError(std::string(field) + ": must not be empty");
  }
  return std::string(value.get_string());
}

std::string required_name(const boost::json::object& body, std::string_view field) {
  std::string name = required_string(body, field);
  if (const auto problem = sdk::json::unusable_name(name); !problem.empty()) {
    throw sdk::InvalidRequestError(std::string(field) + ": " + problem);
  }
  return name;
}

const boost::json::value* optional_field(const boost::json::object& body, std::string_view field) {
  const boost::json::value* value = body.if_contains(field);
  return value == nullptr || value->is_null() ? nullptr : value;
}

}  // namespace flint::api
