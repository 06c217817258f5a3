#include "http/http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

#include <optional>
#include <system_error>

#include "http/error_response.hpp"
#include "logging/logging.hpp"

namespace flint::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

struct HttpServer::Connection : std::enable_shared_from_this<Connection> {
  explicit Connection(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}

  // Arms the watchdog: when it fires, pending socket operations are cancelled
  // and `timed_out` tells the reader why. Strand-only, like every member.
  void arm(std::chrono::milliseconds timeout) {
    timed_out = false;
    const std::uint64_t armed = ++generation;
    timer.expires_after(timeout);
    timer.async_wait([self = shared_from_this(), armed](const error_code& ec) {
      if (ec || armed != self->generation) return;  // re-armed or cancelled meanwhile
      self->timed_out = true;
      error_code ignored;
      self->socket.cancel(ignored);
    });
  }

  void disarm() {
    ++generation;
    timer.cancel();
  }

  tcp::socket socket;
  asio::steady_timer timer;
  std::uint64_t generation = 0;
  bool timed_out = false;
  bool busy = false;  // a request is being read, handled or answered
};

namespace {

std::shared_ptr<spdlog::logger> log() {
  static const auto logger = logging::logger("http");
  return logger;
}

// Which 4xx a failed read deserves; nullopt when the peer just went away.
std::optional<Response> read_error_response(const error_code& ec, bool timed_out,
                                            const ServerOptions& options) {
  if (timed_out) {
    return error_response(Status::request_timeout,
                          fmt::format("request not received within http.read_timeout ({} ms)",
                                      options.read_timeout.count()),
                          11, false);
  }
  if (ec == beast_http::error::header_limit) {
    return error_response(Status::request_header_fields_too_large,
                          fmt::format("request header exceeds http.max_header_size ({} bytes)",
                                      options.max_header_bytes),
                          11, false);
  }
  if (ec == beast_http::error::body_limit) {
    return error_response(Status::payload_too_large,
                          fmt::format("request body exceeds http.max_body_size ({} bytes)",
                                      options.max_body_bytes),
                          11, false);
  }
  if (ec.category() == beast_http::make_error_code(beast_http::error::bad_method).category() &&
      ec != beast_http::error::end_of_stream && ec != beast_http::error::partial_message) {
    return error_response(Status::bad_request, "malformed HTTP request: " + ec.message(), 11,
                          false);
  }
  return std::nullopt;
}

bool expects_continue(const Request& request) {
  const auto expect = request[beast_http::field::expect];
  return expect.size() == 12 && (expect[0] == '1') &&
         boost::beast::iequals(expect, std::string_view("100-continue"));
}

}  // namespace

HttpServer::HttpServer(asio::io_context& io, ServerOptions options, const Router& router,
                       HttpProbe& probe)
    : io_(io), options_(std::move(options)), router_(router), probe_(probe), acceptor_(io) {}

HttpServer::~HttpServer() = default;

void HttpServer::start() {
  error_code ec;
  const auto address = asio::ip::make_address(options_.host, ec);
  if (ec) {
    throw std::system_error(ec, "application.host: '" + options_.host + "' is not an IP address");
  }
  const tcp::endpoint endpoint(address, options_.port);
  auto fail = [&](const char* what) {
    throw std::system_error(
        ec, fmt::format("cannot {} {}:{}", what, options_.host, options_.port));
  };
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) fail("open a socket for");
  acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  acceptor_.bind(endpoint, ec);
  if (ec) fail("bind");
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) fail("listen on");
  bound_port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(io_, accept_loop(), asio::detached);
}

asio::awaitable<void> HttpServer::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(asio::make_strand(io_), kAsTuple);
    if (ec) {
      if (!acceptor_.is_open() || stopping_) co_return;
      log()->warn("accept failed: {}", ec.message());
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto connection = std::make_shared<Connection>(std::move(socket));
    {
      std::lock_guard lock(connections_mutex_);
      connections_.insert(connection);
    }
    ++open_connections_;
    probe_.connections().Increment();
    asio::co_spawn(connection->socket.get_executor(), serve(connection), asio::detached);
  }
}

asio::awaitable<void> HttpServer::serve(std::shared_ptr<Connection> c) {
  boost::beast::flat_buffer buffer;
  std::optional<Response> refusal;
  if (open_connections_.load() > options_.max_connections) {
    refusal = error_response(Status::service_unavailable,
                             fmt::format("too many connections (http.max_connections is {})",
                                         options_.max_connections),
                             11, false);
  }
  while (!refusal && !stopping_) {
    if (buffer.size() == 0) {
      // Waiting for the next request on a kept-alive connection.
      c->arm(options_.idle_timeout);
      auto [ec, n] = co_await c->socket.async_read_some(buffer.prepare(4096), kAsTuple);
      if (ec) break;  // idle timeout, peer gone, or closed by a shutdown
      buffer.commit(n);
    }
    c->busy = true;
    probe_.in_flight().Increment();

    beast_http::request_parser<beast_http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
    parser.body_limit(options_.max_body_bytes);
    c->arm(options_.read_timeout);
    auto [ec, bytes] = co_await beast_http::async_read_header(c->socket, buffer, parser, kAsTuple);
    if (!ec && expects_continue(parser.get())) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      std::tie(ec, bytes) = co_await asio::async_write(c->socket, asio::buffer(kContinue), kAsTuple);
    }
    if (!ec && !parser.is_done()) {
      std::tie(ec, bytes) = co_await beast_http::async_read(c->socket, buffer, parser, kAsTuple);
    }
    if (ec) {
      probe_.in_flight().Decrement();
      refusal = read_error_response(ec, c->timed_out, options_);
      if (refusal) probe_.record("unmatched", "-", refusal->result_int(), {});
      break;
    }

    Request request = parser.release();
    c->disarm();
    Response response = co_await dispatch(request);
    response.keep_alive(request.keep_alive() && !stopping_);
    c->arm(options_.read_timeout);  // a client that does not read its response is dropped
    std::tie(ec, bytes) = co_await beast_http::async_write(c->socket, response, kAsTuple);
    probe_.in_flight().Decrement();
    c->busy = false;
    if (ec || !response.keep_alive()) break;
  }

  if (refusal) {
    c->arm(options_.read_timeout);
    co_await beast_http::async_write(c->socket, *refusal, kAsTuple);
    // Linger briefly so the client reads the refusal instead of a reset caused
    // by the request bytes we did not read.
    error_code ignored;
    c->socket.shutdown(tcp::socket::shutdown_send, ignored);
    c->arm(std::chrono::milliseconds(500));
    char sink[4096];
    for (int i = 0; i < 256; ++i) {
      auto [rec, n] = co_await c->socket.async_read_some(asio::buffer(sink), kAsTuple);
      if (rec) break;
    }
  }

  c->disarm();
  error_code ignored;
  c->socket.shutdown(tcp::socket::shutdown_both, ignored);
  c->socket.close(ignored);
  {
    std::lock_guard lock(connections_mutex_);
    connections_.erase(c);
  }
  probe_.connections().Decrement();
  --open_connections_;
}

asio::awaitable<Response> HttpServer::dispatch(Request& request) {
  RequestContext context = RequestContext::from(request);
  context.received_at = std::chrono::steady_clock::now();
  const Router::Match match = router_.find(request.method(), context.path);
  context.route = match.route;

  Response response;
  if (match.handler != nullptr) {
    try {
      response = co_await (*match.handler)(request, context);
    } catch (const std::exception& e) {
      context.log(*log(), spdlog::level::err,
                  fmt::format("unhandled error on {}: {}", context.route, e.what()));
      response = error_response(Status::internal_server_error,
                                "internal error: the request could not be handled");
    }
  } else if (match.method_not_allowed) {
    response = error_response(Status::method_not_allowed,
                              fmt::format("method {} is not allowed on {} (allowed: {})",
                                          std::string_view(request.method_string()), context.path,
                                          match.allow));
    response.set(beast_http::field::allow, match.allow);
  } else {
    response = error_response(Status::not_found,
                              fmt::format("no such path: {} {}",
                                          std::string_view(request.method_string()), context.path));
  }
  response.version(request.version());
  if (!context.tenant_id.empty()) response.set("tenantId", context.tenant_id);
  response.set(beast_http::field::server, "flint");
  probe_.record(context.route, request.method_string(), response.result_int(),
                std::chrono::steady_clock::now() - context.received_at);
  if (log()->should_log(spdlog::level::debug)) {
    context.log(*log(), spdlog::level::debug,
                fmt::format("{} {} -> {}", std::string_view(request.method_string()),
                            context.path, response.result_int()));
  }
  co_return response;
}

void HttpServer::begin_shutdown() {
  if (stopping_.exchange(true)) return;
  asio::post(acceptor_.get_executor(), [this] {
    error_code ignored;
    acceptor_.close(ignored);
  });
  std::lock_guard lock(connections_mutex_);
  for (const auto& c : connections_) {
    // Decided on the connection's strand, where `busy` is exact: only a
    // connection waiting for its next request is closed; one in the middle
    // of a request finishes it and then closes.
    asio::post(c->socket.get_executor(), [c] {
      if (c->busy) return;
      error_code ignored;
      c->socket.cancel(ignored);
    });
  }
}

void HttpServer::close_all() {
  std::lock_guard lock(connections_mutex_);
  for (const auto& c : connections_) {
    asio::post(c->socket.get_executor(), [c] {
      error_code ignored;
      c->socket.close(ignored);
    });
  }
}

}  // namespace flint::http
