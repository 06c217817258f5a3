// libFuzzer target: raw bytes as an HTTP/1.1 request, through the same
// parser limits and header checks as the server (chunk extensions, trailers
// dropped, Host, target, tenantId, Connection), then the API's JSON body and
// request decoding.
// Any exception other than the API's own refusals is a bug.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <flint/sdk/errors.hpp>

#include "api/api_error.hpp"
#include "api/json_body.hpp"
#include "api/resource_driver_requests.hpp"
#include "http/request_context.hpp"
#include "http/request_header_check.hpp"

namespace beast_http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  beast_http::request_parser<beast_http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(1024 * 1024);
  parser.eager(true);
  auto chunk_extension_check = flint::http::check_chunk_extensions;
  parser.on_chunk_header(chunk_extension_check);
  std::vector<const void*> header_fields;

  boost::system::error_code ec;
  const auto* bytes = reinterpret_cast<const char*>(data);
  std::size_t offset = 0;
  while (offset < size && !parser.is_done()) {
    const std::size_t used = parser.put(boost::asio::buffer(bytes + offset, size - offset), ec);
    if (ec == beast_http::error::need_more) break;
    if (ec) return 0;  // refused by the parser: the server answers 4xx
    if (used == 0) break;
    offset += used;
    if (parser.is_header_done() && header_fields.empty()) {
      header_fields = flint::http::header_field_nodes(parser.get());
    }
  }
  if (!parser.is_done()) return 0;

  if (parser.chunked()) flint::http::drop_trailer_fields(parser.get(), header_fields);
  flint::http::Request request = parser.release();
  // What the server checks before reading a body; a refused one goes no further.
  if (flint::http::refuse_request_header(request)) return 0;
  (void)flint::http::keeps_alive(request);
  const auto context = flint::http::RequestContext::from(request);
  try {
    const auto body = flint::api::parse_json_body(request);
    if (context.path == "/api/driver/references/find") {
      (void)flint::api::decode_find_request(body);
    } else {
      (void)flint::api::decode_execute_request(body);
    }
  } catch (const flint::api::ApiError&) {
  } catch (const flint::sdk::DriverError&) {
  } catch (...) {
    std::abort();
  }
  return 0;
}
