#pragma once

/// @file
/// The plumbing shared by the JSON POST routes of the driver APIs
/// (`/api/driver`, `/api/infrastructure`): body parsing and decoding, the
/// call's origin, the reply, and the logged error mapping (contract
/// section 4).

#include <string>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <flint/sdk/json.hpp>

#include "api/json_body.hpp"
#include "http/error_response.hpp"
#include "http/router.hpp"
#include "service/resource_driver_service.hpp"

namespace flint::api {

/// The JSON text of a reply made from a driver's result. Driver text that is
/// not valid UTF-8 (JSON must be) has each bad byte replaced with U+FFFD,
/// with a warning.
std::string reply_body(boost::json::object encoded, const http::RequestContext& context);

/// Who made the call, for the service: the request's log fields (`tracectx.*`,
/// `tenantId`) and its `tenantId` header (carried to the events); the service
/// notes in `context.driver` which driver it routed the call to.
service::CallOrigin call_origin(http::RequestContext& context);

/// The error response for the exception currently being handled (call from a
/// catch block; mapped by `current_exception_response`), logged with the
/// request's fields: client mistakes (4xx) at info, our failures (5xx) at
/// error, naming the driver once the call was routed. A `DriverError`'s
/// operator detail goes to the log only.
http::Response refuse(const http::Request& request, const http::RequestContext& context);

/// Adds `POST path`, a route taking a JSON body:
/// 1. the body is parsed (`decode_json_body`: 415 unless `application/json`,
///    400 when empty or malformed; a client that waits for `100 Continue`
///    gets the 415 before sending the body);
/// 2. the body is freed, and `decode(const boost::json::value&)` turns the
///    tree into a command (throwing `sdk::InvalidRequestError` naming the
///    field; it must copy what it keeps: the tree is freed when it returns);
/// 3. `call(Command, service::CallOrigin)` is awaited (it returns a
///    `boost::asio::awaitable<Result>`);
/// 4. the reply is `status` with `sdk::json::encode(result)`.
///
/// Any exception becomes the mapped, logged error response (`refuse`). The
/// router keeps `decode` and `call`: what they reference must outlive it.
template <class Decode, class Call>
void add_json_post_route(http::Router& router, std::string path, http::Status status, Decode decode,
                         Call call) {
  router.add(
      http::Method::post, std::move(path),
      [status, decode = std::move(decode), call = std::move(call)](
          http::Request& request,
          http::RequestContext& context) -> boost::asio::awaitable<http::Response> {
        try {
          // Frees the body once parsed: it can be megabytes.
          auto command = decode_json_body(request, decode);
          // Named, not temporaries of the co_await: GCC 12 may destroy those twice.
          auto origin = call_origin(context);
          const auto result = co_await call(std::move(command), std::move(origin));
          co_return http::json_response(status, reply_body(sdk::json::encode(result), context),
                                        request.version(), request.keep_alive());
        } catch (...) {
          co_return refuse(request, context);
        }
      },
      kJsonMediaType);
}

}  // namespace flint::api
