#pragma once

/// @file
/// The process environment as a plain value, so configuration loading can be
/// tested without touching the real environment.

#include <map>
#include <string>

namespace flint::config {

/// Environment variables, name -> value. Ordered, so errors about variables
/// come out in a stable order.
using Environment = std::map<std::string, std::string>;

/// A snapshot of the process environment (`environ`). Not thread-safe with
/// respect to concurrent `setenv`/`putenv`; call it at start-up.
Environment process_environment();

}  // namespace flint::config
