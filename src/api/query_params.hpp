#pragma once

/// @file
/// Reading the query string of a GET route: known parameters by name, and
/// integers within bounds, each refused with a 400 that names it.

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>

namespace flint::api {

/// Query parameters by name, percent-decoded.
using QueryParams = std::map<std::string, std::string, std::less<>>;

/// The parameters of `target` (the request target, path and query) whose
/// names are in `known`. Unknown ones are ignored (cache busters and the
/// like).
/// @throws ApiError 400 when a known one is given twice, or the target is not
///         a path and query.
QueryParams known_query_params(std::string_view target,
                               std::initializer_list<std::string_view> known);

/// The value of `name` in `params`, or null when it was not given.
const std::string* query_param(const QueryParams& params, std::string_view name);

/// `text` as an integer in [`min`, `max`] (digits only, a leading `-` for a
/// negative bound).
/// @throws ApiError 400 `<name>: expected <expected>` otherwise.
std::int64_t parse_query_integer(std::string_view name, std::string_view text, std::int64_t min,
                                 std::int64_t max, std::string_view expected);

}  // namespace flint::api
