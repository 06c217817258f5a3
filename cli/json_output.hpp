#pragma once

/// @file
/// JSON for people: indented output of Boost.JSON values.

#include <string>

#include <boost/json/value.hpp>

namespace flint::cli {

/// `value` as indented JSON (two spaces per level, keys in their order, no
/// trailing newline); empty objects and arrays stay on one line (`{}`).
/// Pure function.
std::string pretty_json(const boost::json::value& value);

}  // namespace flint::cli
