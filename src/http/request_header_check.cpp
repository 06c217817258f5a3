#include "http/request_header_check.hpp"

#include <string>
#include <vector>

#include <boost/beast/core/string.hpp>
#include <fmt/format.h>

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

}  // namespace

void echo_tenant_id(const Request& header, Response& response) {
  if (const auto tenant = header.find("tenantId");
      tenant != header.end() && !tenant->value().empty()) {
    response.set("tenantId", tenant->value());
  }
}

std::optional<Response> refuse_request_header(Request& header) {
  const auto refuse = [&header](Status status, std::string message) {
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
  if (target.starts_with('/')) return std::nullopt;
  for (const std::string_view scheme : {"http://", "https://"}) {
    if (target.size() >= scheme.size() &&
        boost::beast::iequals(target.substr(0, scheme.size()), scheme)) {
      const auto path = target.find_first_of("/?", scheme.size());
      std::string origin_form(path == std::string_view::npos ? "/" : target.substr(path));
      if (origin_form.starts_with('?')) origin_form.insert(0, 1, '/');
      header.target(origin_form);
      return std::nullopt;
    }
  }
  if (target == "*" && header.method() == beast_http::verb::options) return std::nullopt;
  return refuse(Status::bad_request, "request target: expected a path starting with '/'");
}

}  // namespace flint::http
