#pragma once

/// @file
/// The HTTP/1.1 server: Boost.Beast on Asio with C++20 coroutines.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "http/http_probe.hpp"
#include "http/router.hpp"
#include "logging/log_throttle.hpp"

namespace flint::http {

/// Listener settings and per-connection limits (`application.*`, `http.*`).
struct ServerOptions {
  /// Address to bind (`127.0.0.1` by default: nothing is exposed unless asked).
  std::string host = "127.0.0.1";
  /// Port to bind; 0 picks a free one (see `HttpServer::port`).
  std::uint16_t port = 8290;
  /// Largest request header accepted; larger gets 431.
  std::size_t max_header_bytes = 16 * 1024;
  /// Largest request body accepted; larger gets 413.
  std::size_t max_body_bytes = 64 * 1024 * 1024;
  /// A started request must be fully read within this, or it gets 408.
  std::chrono::milliseconds read_timeout{30'000};
  /// A keep-alive connection with no request starting within this is closed.
  std::chrono::milliseconds idle_timeout{60'000};
  /// Connections beyond this are answered 503 and closed.
  std::size_t max_connections = 4096;
  /// When set, a request to a path not in `public_paths` is served only if
  /// it has an `Authorization` header and this accepts it; otherwise it is
  /// answered 401 as soon as its header is read, before any body is read
  /// or invited, and the connection is closed.
  /// Called on the connection's thread: must be thread-safe and quick.
  std::function<bool(std::string_view authorization)> authorize{};
  /// Paths served without authentication (exact match, no query string).
  std::vector<std::string> public_paths{};
  /// TLS for every connection when set (see `make_tls_context`); plain TCP
  /// otherwise. A connection must finish its handshake within
  /// `read_timeout`.
  std::shared_ptr<boost::asio::ssl::context> tls{};
};

/// Files of the listener's TLS settings (`http.tls.*`).
struct TlsFiles {
  /// PEM certificate chain, the server's certificate first.
  std::filesystem::path certificate;
  /// PEM private key of that certificate; must grant no permission to group
  /// or others.
  std::filesystem::path private_key;
  /// When set, clients must present a certificate issued by one of these
  /// PEM CA certificates (mutual TLS).
  std::filesystem::path client_ca{};
};

/// A server TLS context: TLS 1.2 or later, OpenSSL's default ciphers, the
/// certificate and key of `files` (checked to match).
/// @throws std::runtime_error naming the file and the problem.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const TlsFiles& files);

/// Accepts connections and serves requests through a `Router`.
///
/// Keep-alive and chunked request bodies are supported; `Expect:
/// 100-continue` is honoured. Every limit violation is answered with the JSON
/// error shape: 400 malformed, 401 unauthenticated (with `WWW-Authenticate`),
/// 408 slow request, 413 body, 431 header, 404, 405 (with `Allow`), 503 over
/// the connection limit. A `tenantId` request
/// header is echoed on the response.
///
/// Accepts on `io`. Each connection is a coroutine on one of
/// `connection_loops`, taken in turn: a loop run by one thread needs no strand
/// and no lock to hand work between its threads, which is most of what a
/// kept-alive request costs. With no loops given, connections run on `io`,
/// each on its own strand. The router, the probe and the loops must outlive
/// the server.
class HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, ServerOptions options, const Router& router,
             HttpProbe& probe, std::vector<boost::asio::io_context*> connection_loops = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds and starts accepting.
  /// @throws std::system_error naming the address when it cannot bind.
  void start();

  /// The bound port (the real one when `port` was 0). Valid after `start`.
  std::uint16_t port() const noexcept { return bound_port_; }

  /// Starts a graceful stop: no new connection is accepted, idle keep-alive
  /// connections are closed, and requests in flight finish (their responses
  /// carry `Connection: close`). Thread-safe; returns at once.
  void begin_shutdown();

  /// Serves the connections accepted from now on with `context` (a renewed
  /// certificate); open connections keep the one they started with.
  /// Thread-safe.
  /// @throws std::logic_error when the server was created without TLS.
  void replace_tls(std::shared_ptr<boost::asio::ssl::context> context);

  /// Closes every connection now (after the shutdown grace has passed).
  void close_all();

  /// True once `begin_shutdown` was called.
  bool stopping() const noexcept { return stopping_.load(); }

  /// Connections still open.
  std::size_t open_connections() const noexcept { return open_connections_.load(); }

 private:
  struct Connection;
  boost::asio::any_io_executor next_connection_executor();
  std::shared_ptr<boost::asio::ssl::context> current_tls();
  boost::asio::awaitable<void> accept_loop();
  // A connection's whole life, its end included whatever happens in it.
  boost::asio::awaitable<void> serve(std::shared_ptr<Connection> connection);
  // Its TLS handshake, if any, and its requests.
  boost::asio::awaitable<void> serve_requests(std::shared_ptr<Connection> connection);
  template <class Stream>
  boost::asio::awaitable<void> serve_on(std::shared_ptr<Connection> connection, Stream& stream);
  // Routes `request`; its stream body, if any, goes to `stream`, and what
  // the reply holds until written to `keep` (see RequestContext).
  boost::asio::awaitable<Response> dispatch(Request& request, StreamBody& stream,
                                            std::shared_ptr<const void>& keep, int peer_socket);
  // The 401 for a request header that does not carry an accepted token
  // (nullopt: serve it).
  std::optional<Response> authentication_refusal(const Request& header) const;
  // Logs a 401 (at most one line per 10 s, counting the others: a client
  // trying tokens must not flood the log).
  void log_refused_authentication(const Connection& connection, const Request& header,
                                  std::string_view reason);
  // The answer, from the header alone, to a request whose body no route
  // would read: unknown path (404), wrong method (405), GET or HEAD (400).
  std::optional<Response> unwanted_body_refusal(const Request& header) const;
  static Response unmatched_response(const Router::Match& match, const Request& request,
                                     std::string_view path);
  template <class Stream>
  boost::asio::awaitable<void> send_stream(std::shared_ptr<Connection> c, Stream& out,
                                           Response& head, StreamBody& stream);

  boost::asio::io_context& io_;
  ServerOptions options_;
  std::mutex tls_mutex_;  // guards options_.tls, which `replace_tls` may swap
  const Router& router_;
  HttpProbe& probe_;
  std::vector<boost::asio::io_context*> connection_loops_;
  std::size_t next_loop_ = 0;  // accept loop only
  boost::asio::ip::tcp::acceptor acceptor_;
  std::chrono::milliseconds watchdog_tick_;
  std::uint16_t bound_port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> open_connections_{0};
  logging::LogThrottle refusals_log_{std::chrono::seconds(10)};
  std::mutex connections_mutex_;
  std::unordered_set<std::shared_ptr<Connection>> connections_;
};

}  // namespace flint::http
