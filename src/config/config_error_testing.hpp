#pragma once

/// @file
/// Test helper for the configuration's unit tests.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/config_error.hpp"

namespace flint::config::testing {

/// Runs `fn`, expecting a ConfigError, and returns its lines (none, with a
/// test failure, when `fn` does not throw one).
template <class Fn>
std::vector<std::string> errors_of(Fn&& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.errors();
  }
  ADD_FAILURE() << "expected a ConfigError";
  return {};
}

}  // namespace flint::config::testing
