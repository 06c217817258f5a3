#pragma once

/// @file
/// JSON for people: indented output of Boost.JSON values.

#include <string>

#include <boost/json/value.hpp>

namespace flint::cli {

/// `value` as indented JSON (two spaces per level, keys in their order, no
/// trailing newline); empty objects and arrays stay on one line (`{}`).
/// Numbers with a fraction or an exponent are written as people write them
/// (`0.25`, `1.0`, `1e+21`), not as Boost.JSON does (`2.5E-1`, `1E0`).
/// Pure function.
std::string pretty_json(const boost::json::value& value);

/// `value` as JSON on one line, without spaces, numbers written as by
/// `pretty_json`: what `--json` and `flint events` print. Pure function.
std::string compact_json(const boost::json::value& value);

}  // namespace flint::cli
