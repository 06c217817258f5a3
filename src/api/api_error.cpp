#include "api/api_error.hpp"

#include <new>
#include <string>

#include "drivers/retry_later_error.hpp"
#include "http/error_response.hpp"

namespace flint::api {

http::Status status_of(sdk::ErrorKind kind) noexcept {
  switch (kind) {
    case sdk::ErrorKind::invalid_request:
    case sdk::ErrorKind::invalid_lifecycle_name:
    case sdk::ErrorKind::invalid_driver_files:
    case sdk::ErrorKind::request_not_found:
    case sdk::ErrorKind::unreachable_location:
    case sdk::ErrorKind::invalid_template:
    case sdk::ErrorKind::infrastructure_not_found:
    // The generic kinds: on Ignition's APIs, requests that cannot be served
    // as asked. Its table has no 404, 401 or 501 (contract section 4).
    case sdk::ErrorKind::not_found:
    case sdk::ErrorKind::already_exists:
    case sdk::ErrorKind::conflict:
    case sdk::ErrorKind::unauthorized:
    case sdk::ErrorKind::not_implemented:
      return http::Status::bad_request;
    case sdk::ErrorKind::temporary:
      return http::Status::service_unavailable;
    case sdk::ErrorKind::driver:
      break;
  }
  return http::Status::internal_server_error;
}

http::Response current_exception_response(unsigned version, bool keep_alive) {
  try {
    throw;
  } catch (const ApiError& e) {
    return http::error_response(e.status(), e.what(), version, keep_alive);
  } catch (const drivers::RetryLaterError& e) {
    http::Response response =
        http::error_response(http::Status::service_unavailable, e.what(), version, keep_alive);
    // Whole seconds (RFC 9110 10.2.3), rounded up: sooner would be refused again.
    response.set(http::beast_http::field::retry_after,
                 std::to_string((e.retry_in().count() + 999) / 1000));
    return response;
  } catch (const sdk::DriverError& e) {
    return http::error_response(status_of(e.kind()), e.what(), version, keep_alive);
  } catch (const std::bad_alloc&) {
    // The host's shortage, not the request's fault: retry later, as for a
    // full disk (a memory cap, a burst of large bodies).
    return http::error_response(http::Status::service_unavailable,
                                "out of memory: the request cannot be handled now; retry later",
                                version, keep_alive);
  } catch (const std::exception& e) {
    // A driver that throws something else: Ignition answers 500 with the
    // message; so do we (drivers must keep secrets out of messages).
    return http::error_response(http::Status::internal_server_error, e.what(), version, keep_alive);
  } catch (...) {
    // Not an exception type at all: an answer all the same, never a dropped
    // request.
    return http::error_response(http::Status::internal_server_error,
                                "internal error: the request could not be handled", version,
                                keep_alive);
  }
}

}  // namespace flint::api
