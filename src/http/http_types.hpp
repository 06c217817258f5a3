#pragma once

/// @file
/// The HTTP message types every handler speaks (Boost.Beast, string bodies).

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace flint::http {

namespace beast_http = boost::beast::http;

/// A fully read request.
using Request = beast_http::request<beast_http::string_body>;
/// A response, written whole.
using Response = beast_http::response<beast_http::string_body>;
/// HTTP status codes.
using Status = beast_http::status;
/// HTTP methods.
using Method = beast_http::verb;

}  // namespace flint::http
