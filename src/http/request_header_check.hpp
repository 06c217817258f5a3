#pragma once

/// @file
/// What the server checks in a request's header before it reads the body.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/core/string_type.hpp>
#include <boost/system/error_code.hpp>

#include "http/http_types.hpp"

namespace flint::http {

/// The refusal of a request whose header makes it unsafe or impossible to
/// serve, to be answered before its body is read and followed by closing the
/// connection: an unknown method (501); a missing or repeated Host in
/// HTTP/1.1, or one that is not a host and port (400); a body framed by
/// anything but a final `chunked` (400: read as no body, its bytes would be
/// taken for the next request, RFC 9112 §6.3), another transfer coding
/// (501), or any Transfer-Encoding in HTTP/1.0 (400); a target that is not a
/// path, holds characters a URI cannot, or is an absolute URI without a host
/// or with user information (400); a repeated `tenantId`, or one that is not
/// UTF-8 (400). nullopt when it may be served; an absolute-form target
/// (`http://host/path?q`) is then rewritten to its origin form (`/path?q`).
/// The refusal echoes the request's `tenantId` (see `echo_tenant_id`).
std::optional<Response> refuse_request_header(Request& header);

/// For `request_parser::on_chunk_header`: refuses (`bad_chunk_extension`)
/// a chunk extension holding a control character other than HTAB. RFC 9112
/// §7.1.1 allows none; Beast 1.81 lets a quoted value hold any byte, a bare
/// LF among them, and a proxy that ends the chunk line at that LF reads
/// other requests from the stream than Flint does (request smuggling).
void check_chunk_extensions(std::uint64_t size, boost::beast::string_view extensions,
                            boost::system::error_code& ec);

/// The identities of `request`'s fields once its header is read, to tell
/// them from trailer fields later (`drop_trailer_fields`).
std::vector<const void*> header_field_nodes(const Request& request);

/// Removes the fields a chunked body's trailer section added. RFC 9110
/// §6.5.1: trailer fields are not header fields, and Beast adds them to the
/// header's (beside any of the same name). No route reads them: a trailer
/// must change neither the tenant, nor the content type, nor the
/// connection's fate.
void drop_trailer_fields(Request& request, const std::vector<const void*>& header_fields);

/// Whether the connection stays open after the answer to `header`: no
/// `close` option in any `Connection` field (RFC 9110 §7.6.1), and for
/// HTTP/1.0 a `keep-alive` one. Beast's own accessor reads only the first
/// field, and its parser's counts trailer fields too.
bool keeps_alive(const Request& header);

/// Why `header`'s `Content-Type` is not `expected` (a media type such as
/// `application/json`, compared without its parameters and case), as the
/// 415's message, or nullopt when it is.
std::optional<std::string> media_type_mismatch(const Request& header, std::string_view expected);

/// Sets the `tenantId` of `header` (name in any case) on `response`, when
/// the request has one, non-empty and valid UTF-8: every reply to a request
/// whose header was read carries it.
void echo_tenant_id(const Request& header, Response& response);

}  // namespace flint::http
