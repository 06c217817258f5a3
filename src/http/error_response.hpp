#pragma once

/// @file
/// The one error body of every API: `{"localizedMessage": ..., "status": ...}`.

#include <chrono>
#include <string_view>

#include "http/http_types.hpp"

namespace flint::http {

/// The `Retry-After` of a 503 whose cause gives no better time.
inline constexpr std::chrono::seconds kDefaultRetryAfter{1};

/// A JSON error response with the contract's shape and content type.
/// `version` and `keep_alive` follow the request being answered. A 503
/// carries `Retry-After: 1` (`kDefaultRetryAfter`); set it again to say
/// otherwise.
Response error_response(Status status, std::string_view message, unsigned version = 11,
                        bool keep_alive = true);

/// A JSON response with `body` already serialized.
Response json_response(Status status, std::string body, unsigned version = 11,
                       bool keep_alive = true);

}  // namespace flint::http
