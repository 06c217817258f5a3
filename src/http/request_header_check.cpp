#include "http/request_header_check.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <boost/beast/core/string.hpp>
#include <fmt/format.h>

#include <flint/sdk/json.hpp>

#include "http/error_response.hpp"

namespace flint::http {
namespace {

// Splits a field value into its comma-separated elements, without the
// optional whitespace around them.
std::vector<std::string_view> list_elements(std::string_view value) {
  std::vector<std::string_view> elements;
  while (!value.empty()) {
    const auto comma = value.find(',');
    std::string_view element = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    const auto first = element.find_first_not_of(" \t");
    if (first == std::string_view::npos) continue;
    elements.push_back(element.substr(first, element.find_last_not_of(" \t") - first + 1));
  }
  return elements;
}

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// RFC 3986's unreserved and sub-delims characters.
bool is_uri_plain(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("-._~!$&'()*+,;=").find(c) != std::string_view::npos;
}

// `text` holds only `plain` characters, characters of `also`, and
// percent-encoded octets.
bool is_uri_text(std::string_view text, std::string_view also) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size() || !is_hex_digit(text[i + 1]) || !is_hex_digit(text[i + 2])) {
        return false;
      }
      i += 2;
    } else if (!is_uri_plain(c) && also.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// RFC 9112 §3.2 and RFC 3986 §3.2.2: Host is uri-host [ ":" port ], and may
// be empty. An IP literal is checked as loosely as URI characters and colons
// in brackets (an IPv6 address with a zone, `[fe80::1%25eth0]`, included).
bool is_host_value(std::string_view host) {
  if (host.starts_with('[')) {
    const auto close = host.find(']');
    if (close == std::string_view::npos || !is_uri_text(host.substr(1, close - 1), ":")) {
      return false;
    }
    host.remove_prefix(close + 1);
    if (host.empty()) return true;
    if (host[0] != ':') return false;
  } else {
    const auto colon = host.find(':');
    if (!is_uri_text(host.substr(0, colon), "")) return false;
    if (colon == std::string_view::npos) return true;
    host.remove_prefix(colon);
  }
  return host.substr(1).find_first_not_of("0123456789") == std::string_view::npos;
}

// The one `tenantId` of a request, when it has exactly one and it is valid
// UTF-8: what the reply may echo.
std::optional<std::string_view> usable_tenant_id(const Request& header) {
  const auto tenant = header.find("tenantId");
  if (tenant == header.end() || header.count("tenantId") != 1 ||
      !sdk::json::is_valid_utf8(tenant->value())) {
    return std::nullopt;
  }
  return tenant->value();
}

}  // namespace

void check_chunk_extensions(std::uint64_t /*size*/, boost::beast::string_view extensions,
                            boost::system::error_code& ec) {
  for (const char c : extensions) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && byte != '\t') || byte == 0x7f) {
      ec = beast_http::error::bad_chunk_extension;
      return;
    }
  }
}

// Fields are nodes of a list: their addresses identify them.
std::vector<const void*> header_field_nodes(const Request& request) {
  std::vector<const void*> nodes;
  for (const auto& field : request) nodes.push_back(&field);
  return nodes;
}

void drop_trailer_fields(Request& request, const std::vector<const void*>& header_fields) {
  for (auto field = request.begin(); field != request.end();) {
    const bool from_header =
        std::find(header_fields.begin(), header_fields.end(), &*field) != header_fields.end();
    field = from_header ? std::next(field) : request.erase(field);
  }
}

bool keeps_alive(const Request& header) {
  bool close = false;
  bool keep_alive = false;
  const auto [first, last] = header.equal_range(beast_http::field::connection);
  for (auto field = first; field != last; ++field) {
    for (const auto option : list_elements(field->value())) {
      close = close || boost::beast::iequals(option, std::string_view("close"));
      keep_alive = keep_alive || boost::beast::iequals(option, std::string_view("keep-alive"));
    }
  }
  return !close && (header.version() >= 11 || keep_alive);
}

std::optional<std::string> media_type_mismatch(const Request& header, std::string_view expected) {
  const std::string_view type = header[beast_http::field::content_type];
  std::string_view media = type.substr(0, type.find(';'));
  const auto first = media.find_first_not_of(" \t");
  media = first == std::string_view::npos
              ? std::string_view()
              : media.substr(first, media.find_last_not_of(" \t") - first + 1);
  if (boost::beast::iequals(media, expected)) return std::nullopt;
  if (type.empty()) return fmt::format("Content-Type: required, expected {}", expected);
  return fmt::format("Content-Type: expected {}, got {}", expected, type);
}

void echo_tenant_id(const Request& header, Response& response) {
  if (const auto tenant = usable_tenant_id(header); tenant && !tenant->empty()) {
    response.set("tenantId", *tenant);
  }
}

std::optional<Response> refuse_request_header(Request& header) {
  const auto refuse = [&header](Status status, std::string_view message) {
    Response response = error_response(status, message, 11, false);
    echo_tenant_id(header, response);
    return response;
  };
  if (header.method() == beast_http::verb::unknown) {
    constexpr std::size_t kShown = 32;
    const std::string_view method = header.method_string();
    return refuse(Status::not_implemented,
                  fmt::format("method {}{} is not implemented", method.substr(0, kShown),
                              method.size() > kShown ? "..." : ""));
  }
  const auto hosts = header.count(beast_http::field::host);
  if (hosts > 1) return refuse(Status::bad_request, "Host: sent more than once");
  if (hosts == 0 && header.version() >= 11) {
    return refuse(Status::bad_request, "Host: required in an HTTP/1.1 request");
  }
  if (hosts == 1 && !is_host_value(header[beast_http::field::host])) {
    return refuse(Status::bad_request,
                  "Host: expected a host name or address and an optional port");
  }
  // Two types for one body: whichever was read, the other could be meant.
  if (header.count(beast_http::field::content_type) > 1) {
    return refuse(Status::bad_request, "Content-Type: sent more than once");
  }
  // One tenant per request: the reply, the logs and the events must agree on it.
  if (const auto tenants = header.count("tenantId"); tenants > 1) {
    return refuse(Status::bad_request, "tenantId: sent more than once");
  } else if (tenants == 1 && !usable_tenant_id(header)) {
    return refuse(Status::bad_request, "tenantId: not valid UTF-8");
  }

  if (header.count(beast_http::field::transfer_encoding) > 0) {
    if (header.version() < 11) {
      return refuse(Status::bad_request, "Transfer-Encoding: not allowed in an HTTP/1.0 request");
    }
    std::vector<std::string_view> codings;
    const auto [first, last] = header.equal_range(beast_http::field::transfer_encoding);
    for (auto field = first; field != last; ++field) {
      for (const auto coding : list_elements(field->value())) codings.push_back(coding);
    }
    const auto chunked = [](std::string_view coding) {
      return boost::beast::iequals(coding, std::string_view("chunked"));
    };
    if (codings.empty() || !chunked(codings.back())) {
      return refuse(Status::bad_request,
                    "Transfer-Encoding: a request body must end with the chunked coding");
    }
    for (std::size_t i = 0; i + 1 < codings.size(); ++i) {
      if (chunked(codings[i])) {
        return refuse(Status::bad_request, "Transfer-Encoding: chunked applied more than once");
      }
      return refuse(Status::not_implemented,
                    fmt::format("Transfer-Encoding: {} is not supported (send the body as it "
                                "is, with Content-Length or chunked)",
                                codings[i].substr(0, 32)));
    }
  }

  const std::string_view target = header.target();
  // RFC 9112 §3.2: nothing a URI cannot hold (no raw UTF-8, no control
  // character), so that every message naming a path is plain text.
  // Besides RFC 3986's path and query characters: the printable ASCII that
  // clients send unencoded in practice and that request ids may hold (`{}`,
  // `|`, `[]`, `^`...). Not `#` (a fragment is never sent), `"` or `\`.
  constexpr std::string_view kPathAndQuery = ":@/?{}|[]^`<>";
  constexpr std::string_view kInvalidTarget =
      "request target: only printable ASCII is allowed, without '#', '\"' or '\\', and '%' "
      "only before two hex digits (percent-encode the others)";
  if (target.starts_with('/')) {
    if (!is_uri_text(target, kPathAndQuery)) return refuse(Status::bad_request, kInvalidTarget);
    return std::nullopt;
  }
  for (const std::string_view scheme : {"http://", "https://"}) {
    if (target.size() >= scheme.size() &&
        boost::beast::iequals(target.substr(0, scheme.size()), scheme)) {
      const auto path = target.find_first_of("/?", scheme.size());
      const std::string_view authority = target.substr(scheme.size(), path - scheme.size());
      // RFC 9110 §4.2.1 and §4.2.4: an http(s) URI names a host, and no user.
      if (authority.empty() || authority.find('@') != std::string_view::npos ||
          !is_host_value(authority)) {
        return refuse(Status::bad_request,
                      "request target: an absolute URI needs a host (and no user information)");
      }
      std::string origin_form(path == std::string_view::npos ? "/" : target.substr(path));
      if (origin_form.starts_with('?')) origin_form.insert(0, 1, '/');
      if (!is_uri_text(origin_form, kPathAndQuery)) {
        return refuse(Status::bad_request, kInvalidTarget);
      }
      header.target(origin_form);
      return std::nullopt;
    }
  }
  if (target == "*" && header.method() == beast_http::verb::options) return std::nullopt;
  return refuse(Status::bad_request, "request target: expected a path starting with '/'");
}

}  // namespace flint::http
