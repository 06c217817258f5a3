#pragma once

/// @file
/// How a driver's error reads in the log.

#include <exception>
#include <string>

#include <flint/sdk/errors.hpp>

namespace flint::drivers {

/// What `error` says to an operator, for a log line: `what()`, then the
/// driver's own code and arguments in brackets when it gave them
/// (`[InvalidUsernameOrPassword: 10.0.0.1, 8443]`), then its
/// `operator_detail()` in parentheses when it gave one. Never for anything
/// the orchestrator reads (an answer, an event, a breaker's refusal): it is
/// only ever told `what()`.
inline std::string operator_message(const std::exception& error) {
  std::string message = error.what();
  const auto* driver_error = dynamic_cast<const sdk::DriverError*>(&error);
  if (driver_error == nullptr) return message;
  if (driver_error->has_specific_code()) {
    message += " [" + driver_error->code();
    const char* separator = ": ";
    for (const std::string& arg : driver_error->args()) {
      message += separator + arg;
      separator = ", ";
    }
    message += ']';
  }
  if (!driver_error->operator_detail().empty()) {
    message += " (" + driver_error->operator_detail() + ")";
  }
  return message;
}

}  // namespace flint::drivers
