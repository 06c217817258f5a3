#pragma once

/// @file
/// How a driver's error reads in the log.

#include <exception>
#include <string>

#include <flint/sdk/errors.hpp>

namespace flint::drivers {

/// What `error` says to an operator, for a log line: `what()`, then a
/// driver's `operator_detail()` in parentheses when it gave one. Never for
/// anything the orchestrator reads (an answer, an event, a breaker's
/// refusal): it is only ever told `what()`.
inline std::string operator_message(const std::exception& error) {
  const auto* driver_error = dynamic_cast<const sdk::DriverError*>(&error);
  if (driver_error == nullptr || driver_error->operator_detail().empty()) return error.what();
  return std::string(error.what()) + " (" + driver_error->operator_detail() + ")";
}

}  // namespace flint::drivers
