#include "http_client.hpp"

#include <algorithm>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>

namespace flint::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Events pages and find results are small; this only stops a runaway reply.
constexpr std::uint64_t kMaxBodyBytes = 64ULL << 20;
constexpr std::uint32_t kMaxHeaderBytes = 1U << 20;
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

std::string seconds_text(std::chrono::milliseconds timeout) {
  const auto ms = timeout.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  return std::to_string(ms) + " ms";
}

// Writes `request` and reads the reply on a connected stream (TCP or TLS).
template <class Stream>
asio::awaitable<HttpResponse> send_and_read(Stream& stream,
                                            http::request<http::string_body>& request,
                                            const std::string& what,
                                            std::chrono::milliseconds timeout) {
  auto [write_error, written] = co_await http::async_write(stream, request, kAsTuple);
  (void)written;
  if (write_error == beast::error::timeout) {
    throw NoReplyError(what + ": no answer within " + seconds_text(timeout));
  }
  // A server that refuses a request before its body is read (a 413 for a
  // package over http.max_body_size) answers and closes: the write fails,
  // and the answer, which says why, waits in the socket.
  const bool refused_early =
      write_error == asio::error::broken_pipe || write_error == asio::error::connection_reset;
  if (write_error && !refused_early) {
    throw HttpError(what + ": sending the request failed: " + write_error.message());
  }

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxBodyBytes);
  // Beast's default is 8 KiB; the server echoes a request's tenantId, which
  // its own (larger) header limit let in.
  parser.header_limit(kMaxHeaderBytes);
  auto [read_error, read] = co_await http::async_read(stream, buffer, parser, kAsTuple);
  (void)read;
  if (read_error && refused_early) {
    throw HttpError(what + ": sending the request failed: " + write_error.message());
  }
  if (read_error == beast::error::timeout) {
    throw NoReplyError(what + ": no answer within " + seconds_text(timeout));
  }
  if (read_error) throw NoReplyError(what + ": no valid reply: " + read_error.message());

  auto message = parser.release();
  HttpResponse out;
  out.status = message.result_int();
  out.reason = std::string(message.reason());
  if (auto it = message.find(http::field::content_type); it != message.end()) {
    out.content_type = std::string(it->value());
  }
  out.body = std::move(message.body());
  co_return out;
}

}  // namespace

BaseUrl parse_base_url(std::string_view text) {
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) {
    throw std::invalid_argument("--url: \"" + std::string(text) +
                                "\" is not an absolute URL (expected http://HOST[:PORT])");
  }
  const auto& url = *parsed;
  if (url.scheme() != "http" && url.scheme() != "https") {
    throw std::invalid_argument("--url: scheme \"" + std::string(url.scheme()) +
                                "\" is not supported (http:// or https://)");
  }
  if (url.host().empty())
    throw std::invalid_argument("--url: no host in \"" + std::string(text) + "\"");
  if (url.has_userinfo()) throw std::invalid_argument("--url: user info is not supported");
  if (url.has_query() || url.has_fragment()) {
    throw std::invalid_argument("--url: a query or fragment is not allowed");
  }
  BaseUrl base;
  base.text = std::string(text);
  base.host = url.host_type() == boost::urls::host_type::ipv6 ? url.host_address()
                                                              : std::string(url.host());
  base.tls = url.scheme() == "https";
  base.port = url.has_port() ? std::string(url.port()) : base.tls ? "443" : "80";
  if (base.port.empty()) throw std::invalid_argument("--url: empty port");
  // The resolver would take 99999 as 99999 mod 65536: another server.
  if (url.has_port() &&
      (url.port_number() == 0 || base.port.size() > 5 || std::stoul(base.port) > 65535)) {
    throw std::invalid_argument("--url: port " + base.port + " is not in 1..65535");
  }
  base.prefix = std::string(url.encoded_path());
  while (!base.prefix.empty() && base.prefix.back() == '/') base.prefix.pop_back();
  return base;
}

std::string read_token_file(const std::string& path) {
  if (path.empty()) return {};
  // Opened as a stream, a directory reads as an empty file.
  if (std::error_code ignored; std::filesystem::is_directory(path, ignored)) {
    throw std::invalid_argument("--token-file: cannot read " + path + ": Is a directory");
  }
  std::ifstream in(path);
  if (!in) {
    throw std::invalid_argument("--token-file: cannot read " + path + ": " + std::strerror(errno));
  }
  std::string line;
  while (std::getline(in, line)) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    const auto last = line.find_last_not_of(" \t\r");
    std::string token = line.substr(first, last - first + 1);
    // It becomes a header value: a control character would break the header.
    if (std::any_of(token.begin(), token.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
      throw std::invalid_argument("--token-file: the token in " + path +
                                  " holds a control character");
    }
    return token;
  }
  throw std::invalid_argument("--token-file: " + path + " holds no token");
}

HttpResponse HttpClient::get(std::string_view target, std::chrono::milliseconds timeout) {
  return exchange("GET", target, {}, {}, timeout);
}

HttpResponse HttpClient::post_json(std::string_view target, std::string body,
                                   const Headers& headers, std::chrono::milliseconds timeout) {
  return exchange("POST", target, std::move(body), headers, timeout);
}

HttpResponse HttpClient::exchange(std::string_view method, std::string_view target,
                                  std::string body, const Headers& headers,
                                  std::chrono::milliseconds timeout) {
  const std::string path = base_.prefix + std::string(target);
  const std::string what = std::string(method) + " " + base_.text + std::string(target);

  http::request<http::string_body> request;
  request.method(method == "GET" ? http::verb::get : http::verb::post);
  request.target(path);
  request.version(11);
  request.set(http::field::host, base_.host + ":" + base_.port);
  request.set(http::field::user_agent, "flint-cli");
  request.set(http::field::accept, "application/json");
  request.set(http::field::connection, "close");
  for (const auto& [name, value] : headers) request.set(name, value);
  if (!token_.empty()) request.set(http::field::authorization, "Bearer " + token_);
  if (method != "GET") {
    request.set(http::field::content_type, "application/json");
    request.body() = std::move(body);
    request.prepare_payload();
  }

  asio::io_context io;
  std::optional<HttpResponse> response;
  std::exception_ptr failure;

  // Asynchronous operations give every step one deadline (the synchronous
  // Beast calls have none); the coroutine reports errors as HttpError.
  auto run = [&]() -> asio::awaitable<void> {
    const auto token = asio::as_tuple(asio::use_awaitable);
    auto executor = co_await asio::this_coro::executor;
    tcp::resolver resolver(executor);
    auto [resolve_error, endpoints] =
        co_await resolver.async_resolve(base_.host, base_.port, token);
    if (resolve_error) {
      throw HttpError("cannot resolve " + base_.host + " (" + base_.text +
                      "): " + resolve_error.message());
    }
    beast::tcp_stream stream(executor);
    stream.expires_after(timeout);
    auto [connect_error, endpoint] = co_await stream.async_connect(endpoints, token);
    if (connect_error == beast::error::timeout) {
      throw HttpError("cannot connect to " + base_.text + ": no answer within " +
                      seconds_text(timeout));
    }
    if (connect_error) {
      throw HttpError("cannot connect to " + base_.text + ": " + connect_error.message());
    }
    if (!base_.tls) {
      response = co_await send_and_read(stream, request, what, timeout);
      beast::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      co_return;
    }
    asio::ssl::context context(asio::ssl::context::tls_client);
    // Each file read names its option when it cannot be used.
    const auto load = [](std::string_view option, const std::string& file, const auto& use) {
      try {
        use();
      } catch (const boost::system::system_error& e) {
        throw std::invalid_argument(std::string(option) + ": cannot load " + file + ": " +
                                    e.code().message());
      }
    };
    if (tls_.ca_file.empty()) {
      context.set_default_verify_paths();
    } else {
      load("--cacert", tls_.ca_file, [&] { context.load_verify_file(tls_.ca_file); });
    }
    if (!tls_.cert_file.empty()) {
      load("--cert", tls_.cert_file, [&] { context.use_certificate_chain_file(tls_.cert_file); });
      load("--key", tls_.key_file,
           [&] { context.use_private_key_file(tls_.key_file, asio::ssl::context::pem); });
    }
    context.set_verify_mode(asio::ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> tls(std::move(stream), context);
    tls.set_verify_callback(asio::ssl::host_name_verification(base_.host));
    beast::error_code ip_error;
    asio::ip::make_address(base_.host, ip_error);
    if (ip_error) SSL_set_tlsext_host_name(tls.native_handle(), base_.host.c_str());  // SNI
    auto [handshake_error] = co_await tls.async_handshake(asio::ssl::stream_base::client, token);
    if (handshake_error) {
      throw HttpError("TLS handshake with " + base_.text + " failed: " + handshake_error.message());
    }
    response = co_await send_and_read(tls, request, what, timeout);
    beast::error_code ignored;
    beast::get_lowest_layer(tls).socket().shutdown(tcp::socket::shutdown_both, ignored);
  };

  asio::co_spawn(io, run(), [&](std::exception_ptr error) { failure = error; });
  io.run();
  if (failure) std::rethrow_exception(failure);
  if (!response) throw HttpError(what + ": no reply");
  return std::move(*response);
}

}  // namespace flint::cli
