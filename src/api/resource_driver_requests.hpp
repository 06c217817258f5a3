#pragma once

/// @file
/// Decoding of the Resource Driver API request bodies (contract section 1).

#include <boost/json/value.hpp>

#include "service/resource_driver_service.hpp"

namespace flint::api {

/// Decodes an execute body. Unknown fields are ignored (orchestrators add
/// fields over time).
/// @throws sdk::InvalidRequestError naming the field path and the problem.
service::ExecuteCommand decode_execute_request(const boost::json::value& body);

/// Decodes a find body.
/// @throws sdk::InvalidRequestError naming the field path and the problem.
service::FindCommand decode_find_request(const boost::json::value& body);

}  // namespace flint::api
