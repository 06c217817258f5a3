#pragma once

/// @file
/// Reading a JSON request body.

#include <boost/json/value.hpp>

#include "http/http_types.hpp"

namespace flint::api {

/// Parses the body of `request` as JSON.
/// @throws ApiError 415 when the content type is not `application/json`
///         (parameters such as `charset` allowed), 400 when the body is empty
///         or not valid JSON (the message gives the byte offset).
boost::json::value parse_json_body(const http::Request& request);

}  // namespace flint::api
