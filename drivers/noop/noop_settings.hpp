#pragma once

/// @file
/// Reading `noop.*` control properties: shared by the noop resource and
/// infrastructure drivers (internal to the noop library).

#include <string>
#include <string_view>

#include <flint/sdk/errors.hpp>

namespace flint::drivers::noop::detail {

/// Throws `InvalidRequestError("<source>.<name>: <problem>")`.
[[noreturn]] inline void invalid(std::string_view source, std::string_view name,
                                 std::string_view problem) {
  std::string message;
  message.reserve(source.size() + name.size() + problem.size() + 3);
  message.append(source).append(".").append(name).append(": ").append(problem);
  throw sdk::InvalidRequestError(std::move(message));
}

/// The error kind named `text`, or an `InvalidRequestError` naming the property.
inline sdk::ErrorKind parse_kind(std::string_view text, std::string_view source,
                                 std::string_view name) {
  if (auto kind = sdk::parse_error_kind(text)) return *kind;
  invalid(source, name,
          "unknown error kind \"" + std::string(text) +
              "\" (expected invalid_request, invalid_lifecycle_name, invalid_driver_files, "
              "request_not_found, unreachable_location, temporary, driver, invalid_template, "
              "infrastructure_not_found, not_found, already_exists, conflict, unauthorized or "
              "not_implemented)");
}

/// The message of an error raised on request: `noop driver: <kind> raised as requested by <p>`.
inline std::string raise_message(sdk::ErrorKind kind, std::string_view property) {
  std::string message("noop driver: ");
  message.append(sdk::to_string(kind)).append(" raised as requested by ").append(property);
  return message;
}

/// The operator's half of such an error (`DriverError::operator_detail`):
/// `operator detail of <p>`. The host logs it, never sends it to the caller.
inline std::string raise_detail(std::string_view property) {
  return "operator detail of " + std::string(property);
}

}  // namespace flint::drivers::noop::detail
