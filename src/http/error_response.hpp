#pragma once

/// @file
/// The one error body of every API: `{"localizedMessage": ..., "status": ...}`.

#include <string_view>

#include "http/http_types.hpp"

namespace flint::http {

/// A JSON error response with the contract's shape and content type.
/// `version` and `keep_alive` follow the request being answered.
Response error_response(Status status, std::string_view message, unsigned version = 11,
                        bool keep_alive = true);

/// A JSON response with `body` already serialized.
Response json_response(Status status, std::string body, unsigned version = 11,
                       bool keep_alive = true);

}  // namespace flint::http
