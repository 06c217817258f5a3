#pragma once

/// @file
/// The one mapping from errors to HTTP responses (contract section 4).

#include <stdexcept>
#include <string>

#include <flint/sdk/errors.hpp>

#include "http/http_types.hpp"

namespace flint::api {

/// An error found by the API layer itself, before any driver is involved
/// (wrong content type, malformed JSON). Carries its HTTP status.
class ApiError : public std::runtime_error {
 public:
  ApiError(http::Status status, std::string message)
      : std::runtime_error(std::move(message)), status_(status) {}
  /// The status to answer with.
  http::Status status() const noexcept { return status_; }

 private:
  http::Status status_;
};

/// The HTTP status of an error kind on Ignition's APIs: 400 for invalid
/// request / lifecycle name / driver files / template, request or
/// infrastructure not found, unreachable location and the generic kinds (not
/// found, already exists, conflict, unauthorized, not implemented); 503 for
/// temporary errors; 500 for driver errors.
http::Status status_of(sdk::ErrorKind kind) noexcept;

/// The error response for the exception currently being handled (call from
/// a catch block): `ApiError`, `sdk::DriverError` or anything else (500 with
/// a generic message; the detail is for the log only).
http::Response current_exception_response(unsigned version, bool keep_alive);

}  // namespace flint::api
