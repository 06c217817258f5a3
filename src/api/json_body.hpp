#pragma once

/// @file
/// Reading a JSON request body, and the field accessors the request
/// decoders share (their errors name the field: `templateType: required`).

#include <cstddef>
#include <string>
#include <string_view>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>

#include <flint/sdk/json.hpp>

#include "http/http_types.hpp"

namespace flint::api {

/// Deepest nesting of arrays and objects a request body may have (Boost.JSON's
/// default is 32, which a property value of nested maps can reach).
inline constexpr std::size_t kMaxJsonDepth = sdk::json::kMaxDepth;

/// Most values (objects, arrays, strings, numbers and literals; keys not
/// counted) a request body may hold. Parsed, each takes tens of bytes, so
/// without it a body of small values within `http.max_body_size` took about
/// ten times its size in memory. Requests of the contracts hold hundreds.
inline constexpr std::size_t kMaxJsonValues = 100'000;

/// The media type a JSON body must be sent with.
inline constexpr std::string_view kJsonMediaType = "application/json";

/// The values of the JSON `text` (as `kMaxJsonValues` counts them), counted
/// up to `limit + 1`. Malformed text gets some count: the parser refuses it.
std::size_t count_json_values(std::string_view text, std::size_t limit);

/// Parses the body of `request` as JSON into `storage` (the default heap
/// when null; a request-scoped `monotonic_resource` saves an allocation per
/// key and string, see `decode_json_body`).
/// @throws ApiError 415 when the content type is not `application/json`
///         (parameters such as `charset` allowed), 400 when the body is empty
///         or not valid JSON (the message gives the byte offset), or nested
///         deeper than `kMaxJsonDepth`; 413 when it holds more than
///         `kMaxJsonValues` values.
boost::json::value parse_json_body(const http::Request& request,
                                   boost::json::storage_ptr storage = {});

/// Parses the body of `request` (`parse_json_body`), frees the body, and
/// returns `decode(value)`. The JSON tree lives in an arena on this stack
/// frame (spilling to the heap for large bodies) and is gone when this
/// returns, so `decode` must copy what it keeps.
template <class Decode>
auto decode_json_body(http::Request& request, const Decode& decode) {
  // Holds a typical driver request (a few KiB of base64 driver files and
  // properties) without touching the heap.
  alignas(std::max_align_t) unsigned char arena[16 * 1024];
  boost::json::monotonic_resource resource(arena, sizeof arena);
  const boost::json::value value = parse_json_body(request, &resource);
  // The tree has its own copy. A body can be tens of MiB (base64 driver
  // files): without it, `decode`'s copy is the second one held, not the third.
  std::string().swap(request.body());
  return decode(value);
}

/// The body as an object.
/// @throws sdk::InvalidRequestError `request body: expected a JSON object`.
const boost::json::object& body_object(const boost::json::value& body);

/// The value of `field`; absent and `null` are both missing.
/// @throws sdk::InvalidRequestError `<field>: required`.
const boost::json::value& required_field(const boost::json::object& body, std::string_view field);

/// The value of `field` as a non-empty string.
/// @throws sdk::InvalidRequestError `<field>: required`, `<field>: expected a
///         string` or `<field>: must not be empty`.
std::string required_string(const boost::json::object& body, std::string_view field);

/// `required_string` for a name (lifecycle, instance, template type, ids):
/// also a usable name (`sdk::json::unusable_name`).
/// @throws sdk::InvalidRequestError as `required_string`, or `<field>: is
///         longer than 1024 bytes` / `<field>: has a control character`.
std::string required_name(const boost::json::object& body, std::string_view field);

/// The value of `field`, or null when it is absent or `null` (optional
/// fields default to empty).
const boost::json::value* optional_field(const boost::json::object& body, std::string_view field);

}  // namespace flint::api
