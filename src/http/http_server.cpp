#include "http/http_server.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <ctime>
#include <new>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

#include <flint/sdk/json.hpp>

#include "http/error_response.hpp"
#include "http/request_header_check.hpp"
#include "logging/logging.hpp"

namespace flint::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);
// Most a connection's read buffer grows to for one body, and most it keeps
// between requests.
constexpr std::uint64_t kReadAhead = 64 * 1024;
constexpr std::size_t kIdleBuffer = 16 * 1024;
// So that the next request's header and body arrive in one read too.
constexpr std::uint64_t kHeaderRoom = 1024;
// How long accepting pauses when the process is out of descriptors: the
// first pause, doubled after each failed accept up to the longest.
constexpr std::chrono::milliseconds kFirstAcceptPause{10};
constexpr std::chrono::milliseconds kLongestAcceptPause{1000};
// Most a TLS connection waits to send its close_notify before it closes.
constexpr std::chrono::milliseconds kCloseNotifyTimeout{1000};
// At most one line about accepts failing for want of descriptors this often.
constexpr std::chrono::seconds kAcceptReportInterval{10};

namespace {

// Bytes of the empty lines at the front of `buffer`: CRLF, or a bare LF
// (RFC 9112 §2.2 lets a recipient take LF alone as a line's end).
std::size_t leading_empty_lines(const boost::beast::flat_buffer& buffer) {
  const auto* bytes = static_cast<const char*>(buffer.data().data());
  std::size_t n = 0;
  while (n < buffer.size()) {
    if (bytes[n] == '\n') {
      n += 1;
    } else if (n + 1 < buffer.size() && bytes[n] == '\r' && bytes[n + 1] == '\n') {
      n += 2;
    } else {
      break;
    }
  }
  return n;
}

// Bytes of a request have arrived, not just empty lines before one (the
// parser may already have consumed a complete start line from the buffer).
bool request_bytes(const boost::beast::flat_buffer& buffer,
                   const beast_http::basic_parser<true>& parser) {
  return buffer.size() > leading_empty_lines(buffer) || (buffer.size() == 0 && parser.got_some());
}

// The header overflowed its limit before the request line ended, and the
// line has a target: RFC 9112 §3 asks for 414, not 431, then.
bool request_line_too_long(const boost::beast::flat_buffer& buffer,
                           const beast_http::request_parser<beast_http::string_body>& parser) {
  if (!parser.get().target().empty()) return false;  // the request line was read
  const std::string_view data(static_cast<const char*>(buffer.data().data()), buffer.size());
  const std::string_view line = data.substr(0, data.find("\r\n"));
  return line.size() == data.size() && line.find(' ') != std::string_view::npos;
}

}  // namespace

struct HttpServer::Connection : std::enable_shared_from_this<Connection> {
  Connection(tcp::socket s, std::chrono::milliseconds watchdog_tick,
             std::shared_ptr<asio::ssl::context> context)
      : socket(std::move(s)),
        tls_context(std::move(context)),
        timer(socket.get_executor()),
        tick(watchdog_tick) {
    if (tls_context) tls.emplace(socket, *tls_context);
  }

  // Timeouts are deadlines checked by a periodic watchdog rather than a timer
  // re-armed per request phase: arming is a store, so a kept-alive request
  // costs no timer operations. Precision is one tick (a tenth of the shortest
  // timeout). Strand-only, like every member.
  void arm(std::chrono::milliseconds timeout) {
    timed_out = false;
    deadline = std::chrono::steady_clock::now() + timeout;
  }
  void disarm() { deadline = std::chrono::steady_clock::time_point::max(); }

  // Waiting for the next request is bounded by the idle timeout; once its
  // first bytes are in, the read timeout applies from then on (within a tick).
  void await_request(const boost::beast::flat_buffer& buffer,
                     const beast_http::basic_parser<true>& parser, ServerOptions const& options) {
    pending_header = &buffer;
    pending_parser = &parser;
    read_timeout = options.read_timeout;
    idle = !request_bytes(buffer, parser);
    arm(idle ? options.idle_timeout : options.read_timeout);
  }
  // Bytes of the awaited request have arrived.
  bool request_begun() const {
    return pending_header != nullptr && request_bytes(*pending_header, *pending_parser);
  }
  // The header is in. The read timeout runs from the request's first byte:
  // if the watchdog has not seen that byte (the whole header came within a
  // tick), from now.
  void request_started() {
    if (idle && request_begun()) deadline = std::chrono::steady_clock::now() + read_timeout;
    pending_header = nullptr;
    pending_parser = nullptr;
    idle = false;
  }

  void start_watchdog() {
    timer.expires_after(tick);
    timer.async_wait([self = shared_from_this()](const error_code& ec) {
      if (ec || self->closed) return;
      const auto now = std::chrono::steady_clock::now();
      if (self->idle && self->request_begun()) {
        self->idle = false;
        self->deadline = now + self->read_timeout;
      }
      if (now >= self->deadline) {
        self->timed_out = true;
        self->disarm();
        error_code ignored;
        self->socket.cancel(ignored);
      }
      self->start_watchdog();
    });
  }

  // Sends TLS's close_notify (RFC 8446 §6.1), so that the client can tell
  // the end from a cut, without waiting for the client's own: the
  // connection is closed next. Once; not after a failed handshake.
  asio::awaitable<void> send_close_notify(std::chrono::milliseconds timeout) {
    if (!tls || closed) co_return;
    SSL* ssl = tls->native_handle();
    if ((SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN) != 0) co_return;
    SSL_set_shutdown(ssl, SSL_get_shutdown(ssl) | SSL_RECEIVED_SHUTDOWN);
    arm(timeout);
    co_await tls->async_shutdown(kAsTuple);
    disarm();
  }

  void stop_watchdog() {
    closed = true;
    timer.cancel();
  }

  tcp::socket socket;
  // The context its TLS was made from: a reload may replace the server's.
  std::shared_ptr<asio::ssl::context> tls_context;
  // TLS over `socket` when the listener has it; the watchdog and the stop
  // still act on the socket underneath.
  std::optional<asio::ssl::stream<tcp::socket&>> tls;
  asio::steady_timer timer;
  std::chrono::milliseconds tick;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  bool timed_out = false;
  bool closed = false;
  bool idle = false;  // no byte of the awaited request has arrived yet
  const boost::beast::flat_buffer* pending_header = nullptr;
  const beast_http::basic_parser<true>* pending_parser = nullptr;
  std::chrono::milliseconds read_timeout{};
  bool busy = false;  // a request is being read, handled or answered
};

namespace {

std::shared_ptr<spdlog::logger> log() {
  static const auto logger = logging::logger("http");
  return logger;
}

// Which 4xx a failed read deserves; nullopt when the peer just went away.
// `long_target`: the header's limit was hit in the request line's target.
std::optional<Response> read_error_response(const error_code& ec, bool timed_out,
                                            const ServerOptions& options,
                                            bool long_target = false) {
  if (timed_out) {
    return error_response(Status::request_timeout,
                          fmt::format("request not received within http.read_timeout ({} ms)",
                                      options.read_timeout.count()),
                          11, false);
  }
  if (ec == beast_http::error::header_limit && long_target) {
    return error_response(
        Status::uri_too_long,
        fmt::format("request line exceeds http.max_header_size ({} bytes): the target is too long",
                    options.max_header_bytes),
        11, false);
  }
  if (ec == beast_http::error::header_limit) {
    return error_response(Status::request_header_fields_too_large,
                          fmt::format("request header exceeds http.max_header_size ({} bytes)",
                                      options.max_header_bytes),
                          11, false);
  }
  if (ec == beast_http::error::buffer_overflow) {
    // Only after the header (its limit is lower): a chunk line or trailers.
    return error_response(
        Status::request_header_fields_too_large,
        fmt::format("request chunk extension or trailer section exceeds the read buffer ({} "
                    "bytes: http.max_header_size + {} KiB)",
                    options.max_header_bytes + kReadAhead, kReadAhead / 1024),
        11, false);
  }
  if (ec == asio::error::no_memory) {
    return error_response(Status::service_unavailable,
                          "out of memory: the request cannot be handled now; retry later", 11,
                          false);
  }
  if (ec == beast_http::error::body_limit) {
    return error_response(
        Status::payload_too_large,
        fmt::format("request body exceeds http.max_body_size ({} bytes)", options.max_body_bytes),
        11, false);
  }
  // Beast's own words ("bad Content-Length") do not say which rule was broken.
  if (ec == beast_http::error::bad_content_length) {
    return error_response(Status::bad_request,
                          "malformed HTTP request: Content-Length: expected a decimal number, "
                          "and no Transfer-Encoding: chunked with it",
                          11, false);
  }
  if (ec == beast_http::error::multiple_content_length) {
    return error_response(Status::bad_request,
                          "malformed HTTP request: Content-Length: sent with different values", 11,
                          false);
  }
  if (ec == beast_http::error::bad_transfer_encoding) {
    return error_response(Status::bad_request,
                          "malformed HTTP request: Transfer-Encoding: not allowed with "
                          "Content-Length, nor after a Transfer-Encoding ending with chunked",
                          11, false);
  }
  if (ec.category() == beast_http::make_error_code(beast_http::error::bad_method).category() &&
      ec != beast_http::error::end_of_stream && ec != beast_http::error::partial_message) {
    return error_response(Status::bad_request, "malformed HTTP request: " + ec.message(), 11,
                          false);
  }
  return std::nullopt;
}

// An accept failure that persists until a descriptor or memory is freed:
// retrying at once would spin.
bool out_of_resources(const error_code& ec) {
  if (ec.category() != boost::system::system_category()) return false;
  const int code = ec.value();
  return code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM;
}

bool expects_continue(const Request& request) {
  if (request.version() < 11) return false;  // HTTP/1.0 has no interim responses
  const auto expect = request[beast_http::field::expect];
  return expect.size() == 12 && (expect[0] == '1') &&
         boost::beast::iequals(expect, std::string_view("100-continue"));
}

// What the exception being handled says, whatever its type.
std::string describe_current() {
  try {
    throw;
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

// The Date header (RFC 9110 §6.6.1), formatted once a second per thread.
std::string_view http_date() {
  static constexpr std::array<std::string_view, 7> kDays{"Sun", "Mon", "Tue", "Wed",
                                                         "Thu", "Fri", "Sat"};
  static constexpr std::array<std::string_view, 12> kMonths{
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  thread_local std::time_t formatted_second = -1;
  thread_local std::array<char, 29> text{};  // "Sun, 06 Nov 1994 08:49:37 GMT"
  const std::time_t now = std::time(nullptr);
  if (now != formatted_second) {
    std::tm utc{};
    ::gmtime_r(&now, &utc);
    fmt::format_to_n(text.data(), text.size(), "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
                     kDays[static_cast<std::size_t>(utc.tm_wday)], utc.tm_mday,
                     kMonths[static_cast<std::size_t>(utc.tm_mon)], utc.tm_year + 1900, utc.tm_hour,
                     utc.tm_min, utc.tm_sec);
    formatted_second = now;
  }
  return {text.data(), text.size()};
}

}  // namespace

HttpServer::HttpServer(asio::io_context& io, ServerOptions options, const Router& router,
                       HttpProbe& probe, std::vector<asio::io_context*> connection_loops)
    : io_(io),
      options_(std::move(options)),
      router_(router),
      probe_(probe),
      connection_loops_(std::move(connection_loops)),
      acceptor_(io),
      watchdog_tick_(std::clamp(std::min(options_.read_timeout, options_.idle_timeout) / 10,
                                std::chrono::milliseconds(5), std::chrono::milliseconds(1000))) {}

HttpServer::~HttpServer() = default;

void HttpServer::start() {
  error_code ec;
  const auto address = asio::ip::make_address(options_.host, ec);
  if (ec) {
    throw std::system_error(ec, "application.host: '" + options_.host + "' is not an IP address");
  }
  const tcp::endpoint endpoint(address, options_.port);
  auto fail = [&](const char* what) {
    throw std::system_error(ec, fmt::format("cannot {} {}:{}", what, options_.host, options_.port));
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

asio::any_io_executor HttpServer::next_connection_executor() {
  if (connection_loops_.empty()) return asio::make_strand(io_);
  // Kept-alive connections stay where they start: taking loops in turn
  // spreads them evenly.
  asio::io_context& loop = *connection_loops_[next_loop_++ % connection_loops_.size()];
  return loop.get_executor();
}

asio::awaitable<void> HttpServer::accept_loop() {
  // Out of descriptors (or memory), the connection stays in the backlog and
  // the next accept fails at once: accepting pauses, longer after each
  // failure until one succeeds. A line reports a failure, then one the
  // recovery; the next failure line waits out kAcceptReportInterval, and
  // counts the failures not reported in between.
  using clock = std::chrono::steady_clock;
  asio::steady_timer pause(io_);
  std::chrono::milliseconds backoff{0};
  std::size_t unreported = 0;                 // failed accepts in no line yet
  std::optional<clock::time_point> reported;  // the last failure line
  bool recovery_due = false;                  // a failure line awaits its "accepting again"
  for (;;) {
    error_code ec;
    tcp::socket socket(io_);
    std::tie(ec, socket) = co_await acceptor_.async_accept(next_connection_executor(), kAsTuple);
    if (ec) {
      if (!acceptor_.is_open() || stopping_) co_return;
      if (!out_of_resources(ec)) {
        log()->warn("accept failed: {}", ec.message());
        continue;
      }
      ++unreported;
      const auto now = clock::now();
      if (!recovery_due && (!reported || now - *reported >= kAcceptReportInterval)) {
        log()->warn(
            "accept failed: {}{}; accepting pauses ({} ms, doubling up to {} ms, between tries) "
            "until it succeeds, and new connections wait in the listen backlog (see "
            "http.max_connections and file descriptors in docs/operations.md, Limits)",
            ec.message(),
            unreported > 1 ? fmt::format(" ({} failed accepts since the last report)", unreported)
                           : "",
            kFirstAcceptPause.count(), kLongestAcceptPause.count());
        unreported = 0;
        reported = now;
        recovery_due = true;
      }
      backoff = std::clamp(backoff * 2, kFirstAcceptPause, kLongestAcceptPause);
      pause.expires_after(backoff);
      co_await pause.async_wait(kAsTuple);
      continue;
    }
    backoff = std::chrono::milliseconds(0);
    if (recovery_due) {
      log()->warn(
          "accepting again after {} more failed accepts over {} ms", unreported,
          std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - *reported).count());
      unreported = 0;
      recovery_due = false;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto connection =
        std::make_shared<Connection>(std::move(socket), watchdog_tick_, current_tls());
    {
      std::lock_guard lock(connections_mutex_);
      connections_.insert(connection);
    }
    ++open_connections_;
    probe_.connections().Increment();
    asio::co_spawn(connection->socket.get_executor(), serve(connection), asio::detached);
  }
}

template <class Stream>
asio::awaitable<void> HttpServer::serve_on(std::shared_ptr<Connection> c, Stream& stream) {
  // Bounded: Beast holds a whole chunk line or trailer section in it, and
  // counts neither against the header or body limit.
  boost::beast::flat_buffer buffer(options_.max_header_bytes + kReadAhead);
  std::optional<Response> refusal;
  bool head = false;  // the refused request is a HEAD: no body in its answer
  if (open_connections_.load() > options_.max_connections) {
    refusal = error_response(
        Status::service_unavailable,
        fmt::format("too many connections (http.max_connections is {})", options_.max_connections),
        11, false);
    probe_.record("unmatched", "-", refusal->result_int(), {});
  }
  // RFC 9112 §2.2: empty lines before a request line are ignored (some
  // clients send one after a body). They count toward the header's size.
  std::size_t skipped = 0;
  const auto skip_empty_lines = [&] {
    const std::size_t n = leading_empty_lines(buffer);
    if (skipped + n >= options_.max_header_bytes) return false;
    buffer.consume(n);
    skipped += n;
    return true;
  };
  // Referenced by each request's parser, so it lives as long as they do.
  auto chunk_extension_check = check_chunk_extensions;
  while (!refusal && !stopping_) {
    skipped = 0;
    if (!skip_empty_lines()) {
      refusal = read_error_response(beast_http::error::header_limit, false, options_);
      probe_.record("unmatched", "-", refusal->result_int(), {});
      break;
    }
    std::optional<beast_http::request_parser<beast_http::string_body>> slot;
    const auto new_parser = [&]() -> auto& {
      slot.emplace();
      slot->header_limit(static_cast<std::uint32_t>(options_.max_header_bytes - skipped));
      slot->body_limit(options_.max_body_bytes);
      slot->on_chunk_header(chunk_extension_check);
      return *slot;
    };
    auto& parser = new_parser();
    c->await_request(buffer, parser, options_);
    c->busy = request_bytes(buffer, parser);
    error_code ec;
    std::size_t bytes = 0;
    bool endless_empty_lines = false;
    for (;;) {
      std::tie(ec, bytes) =
          co_await beast_http::async_read_header(stream, buffer, parser, kAsTuple);
      // Beast takes an empty line for a request line without a method.
      if (ec != beast_http::error::bad_method || leading_empty_lines(buffer) == 0) break;
      if (!skip_empty_lines()) {
        endless_empty_lines = true;
        ec = beast_http::error::header_limit;
        break;
      }
      new_parser();  // in the same place: `parser` and the watchdog see it
    }
    const bool started = endless_empty_lines || request_bytes(buffer, parser);
    c->request_started();
    if (ec && !started) break;  // idle timeout, peer gone, or closed by a shutdown
    c->busy = true;
    if (!ec) {
      head = parser.get().method() == beast_http::verb::head;
      if ((refusal = refuse_request_header(parser.get()))) {
        probe_.record("unmatched", "-", refusal->result_int(), {});
        break;
      }
      // Before a 100 Continue and before the body: an unauthenticated client
      // is not invited to send, nor held in memory while it does.
      if ((refusal = authentication_refusal(parser.get()))) {
        log_refused_authentication(*c, parser.get(),
                                   refusal->base()[beast_http::field::www_authenticate]);
        const std::string_view target = parser.get().target();
        probe_.record(router_.find(parser.get().method(), target.substr(0, target.find('?'))).route,
                      parser.get().method_string(), refusal->result_int(), {});
        break;
      }
      // Nor is a body no route would read: public paths need no token.
      if (!parser.is_done() && (refusal = unwanted_body_refusal(parser.get()))) break;
    }
    probe_.in_flight().Increment();
    if (!ec && !parser.is_done()) {
      // The body must arrive by the deadline set at the request's first byte
      // (a 100 Continue does not move it).
      // Beast reads into what the buffer can hold, 512 bytes at first: a
      // 4 KiB body took nine reads. Room for the announced body (bounded)
      // lets one read take what has arrived.
      if (const auto length = parser.content_length(); length && *length > buffer.size()) {
        buffer.reserve(
            static_cast<std::size_t>(std::min<std::uint64_t>(*length + kHeaderRoom, kReadAhead)));
      }
      if (expects_continue(parser.get())) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        std::tie(ec, bytes) = co_await asio::async_write(stream, asio::buffer(kContinue), kAsTuple);
      }
      if (!ec) {
        const auto header_fields =
            parser.chunked() ? header_field_nodes(parser.get()) : std::vector<const void*>();
        try {
          // Room for the announced body, taken here: Beast would take it
          // inside the read, where a failure escapes every handler.
          if (const auto length = parser.content_length()) {
            parser.get().body().reserve(static_cast<std::size_t>(*length));
          }
          std::tie(ec, bytes) = co_await beast_http::async_read(stream, buffer, parser, kAsTuple);
        } catch (const std::bad_alloc&) {
          ec = asio::error::no_memory;  // no room for the body now
        }
        if (!ec && parser.chunked()) drop_trailer_fields(parser.get(), header_fields);
      }
    }
    if (ec) {
      probe_.in_flight().Decrement();
      const bool long_target = ec == beast_http::error::header_limit && !endless_empty_lines &&
                               request_line_too_long(buffer, parser);
      refusal = read_error_response(ec, c->timed_out, options_, long_target);
      if (refusal) {
        // A Content-Length over the limit is refused once all fields are in.
        if (parser.is_header_done() || ec == beast_http::error::body_limit) {
          echo_tenant_id(parser.get(), *refusal);
        }
        probe_.record("unmatched", "-", refusal->result_int(), {});
      }
      break;
    }

    Request request = parser.release();
    c->disarm();
    StreamBody body_stream;
    std::shared_ptr<const void> keep_until_sent;
    Response response = co_await dispatch(request, body_stream, keep_until_sent,
                                          boost::beast::get_lowest_layer(stream).native_handle());
    if (body_stream) {
      co_await send_stream(c, stream, response, body_stream);
      probe_.in_flight().Decrement();
      break;
    }
    response.keep_alive(keeps_alive(request) && !stopping_);
    c->arm(options_.read_timeout);  // a client that does not read its response is dropped
    std::tie(ec, bytes) = co_await beast_http::async_write(stream, response, kAsTuple);
    keep_until_sent.reset();
    probe_.in_flight().Decrement();
    c->busy = false;
    if (ec || !response.keep_alive()) break;
    // An idle connection keeps little: the room a large body made is freed.
    if (buffer.capacity() > kIdleBuffer && buffer.size() == 0) buffer.shrink_to_fit();
  }

  if (refusal) {
    c->arm(options_.read_timeout);
    refusal->set(beast_http::field::date, http_date());
    if (head) {  // RFC 9110 §9.3.2, as `dispatch` answers one
      refusal->content_length(refusal->body().size());
      refusal->body().clear();
    }
    co_await beast_http::async_write(stream, *refusal, kAsTuple);
    // Linger briefly so the client reads the refusal instead of a reset caused
    // by the request bytes we did not read.
    co_await c->send_close_notify(kCloseNotifyTimeout);
    error_code linger_error;
    c->socket.shutdown(tcp::socket::shutdown_send, linger_error);
    c->arm(std::chrono::milliseconds(500));
    auto sink = std::make_unique<std::array<char, 4096>>();  // not 4 KiB of coroutine frame
    for (int i = 0; i < 256; ++i) {
      error_code rec;
      std::size_t n = 0;
      // From the socket: over TLS, past close_notify, they are records to drop.
      std::tie(rec, n) = co_await c->socket.async_read_some(asio::buffer(*sink), kAsTuple);
      if (rec) break;
    }
  }
}

asio::awaitable<void> HttpServer::serve(std::shared_ptr<Connection> c) {
  c->start_watchdog();
  try {
    co_await serve_requests(c);
  } catch (const std::exception& e) {
    // One connection's failure (memory, say) is its own: escaping this
    // detached coroutine, it would end the process (std::terminate).
    log()->error("connection closed after an unexpected error: {}", e.what());
  }
  c->stop_watchdog();
  error_code close_error;
  c->socket.shutdown(tcp::socket::shutdown_both, close_error);
  c->socket.close(close_error);
  {
    std::lock_guard lock(connections_mutex_);
    connections_.erase(c);
  }
  probe_.connections().Decrement();
  --open_connections_;
}

asio::awaitable<void> HttpServer::serve_requests(std::shared_ptr<Connection> c) {
  if (!c->tls) {
    co_await serve_on(c, c->socket);
    co_return;
  }
  c->arm(options_.read_timeout);  // a client that does not finish the handshake is dropped
  auto [ec] = co_await c->tls->async_handshake(asio::ssl::stream_base::server, kAsTuple);
  c->disarm();
  if (!ec) {
    co_await serve_on(c, *c->tls);
    co_await c->send_close_notify(kCloseNotifyTimeout);
    co_return;
  }
  probe_.tls_handshake_failures().Increment();
  if (log()->should_log(spdlog::level::debug)) {
    error_code ignored;
    const auto peer = c->socket.remote_endpoint(ignored);
    log()->debug("TLS handshake with {}:{} failed: {}", peer.address().to_string(), peer.port(),
                 ec.message());
  }
}

template <class Stream>
asio::awaitable<void> HttpServer::send_stream(std::shared_ptr<Connection> c, Stream& out,
                                              Response& head, StreamBody& stream) {
  class Writer final : public StreamWriter {
   public:
    Writer(Connection& connection, Stream& out, const HttpServer& server,
           std::chrono::milliseconds timeout)
        : connection_(connection), out_(out), server_(server), timeout_(timeout) {}
    asio::awaitable<bool> send(std::string_view bytes) override {
      if (!alive_) co_return false;
      connection_.arm(timeout_);
      error_code ec;
      std::size_t n = 0;
      std::tie(ec, n) = co_await asio::async_write(out_, asio::buffer(bytes), kAsTuple);
      connection_.disarm();
      alive_ = !ec;
      co_return alive_;
    }
    bool open() const noexcept override { return alive_ && !server_.stopping(); }

   private:
    Connection& connection_;
    Stream& out_;
    const HttpServer& server_;
    std::chrono::milliseconds timeout_;
    bool alive_ = true;
  };

  head.keep_alive(false);
  head.body().clear();
  beast_http::response_serializer<beast_http::string_body> serializer(head);
  c->arm(options_.read_timeout);
  error_code ec;
  std::size_t bytes = 0;
  std::tie(ec, bytes) = co_await beast_http::async_write_header(out, serializer, kAsTuple);
  c->disarm();
  if (ec) co_return;
  // A long-lived stream must not hold up a stop: it is not "busy".
  c->busy = false;
  Writer writer(*c, out, *this, options_.read_timeout);
  co_await stream(writer);
}

std::optional<Response> HttpServer::authentication_refusal(const Request& header) const {
  if (!options_.authorize) return std::nullopt;
  const std::string_view target = header.target();
  const std::string_view path = target.substr(0, target.find('?'));
  const auto& public_paths = options_.public_paths;
  if (std::find(public_paths.begin(), public_paths.end(), path) != public_paths.end()) {
    return std::nullopt;
  }
  const auto refuse = [&](std::string_view message, std::string_view challenge) {
    Response response = error_response(Status::unauthorized, message, 11, false);
    response.set(beast_http::field::www_authenticate, challenge);
    echo_tenant_id(header, response);
    return response;
  };
  constexpr std::string_view kChallenge = R"(Bearer realm="flint")";
  const auto count = header.count(beast_http::field::authorization);
  if (count > 1) return refuse("Authorization: sent more than once", kChallenge);
  const std::string_view credentials = header[beast_http::field::authorization];
  const auto scheme = credentials.substr(0, credentials.find(' '));
  if (!boost::beast::iequals(scheme, std::string_view("Bearer"))) {
    return refuse("authentication required: send the header Authorization: Bearer <token>",
                  kChallenge);
  }
  if (!options_.authorize(credentials)) {
    return refuse("the bearer token is not accepted",
                  R"(Bearer realm="flint", error="invalid_token")");
  }
  return std::nullopt;
}

void HttpServer::log_refused_authentication(const Connection& connection, const Request& header,
                                            std::string_view challenge) {
  const auto held_back = refusals_log_.admit();
  if (!held_back) return;
  error_code ignored;
  const auto peer = connection.socket.remote_endpoint(ignored);
  const std::string_view target = header.target();
  // The path and the peer, never the credentials.
  log()->warn(
      "authentication refused: {} {} from {}: {}{}", header.method_string(),
      sdk::json::printable(target.substr(0, target.find('?')), 256), peer.address().to_string(),
      header.count(beast_http::field::authorization) > 1 ? "Authorization sent twice"
      : challenge.find("invalid_token") != std::string_view::npos
          ? "the bearer token is not accepted"
          : "no bearer token",
      *held_back == 0 ? std::string()
                      : fmt::format(" ({} more refused in the last 10 s, not logged)", *held_back));
}

std::optional<Response> HttpServer::unwanted_body_refusal(const Request& header) const {
  const std::string_view target = header.target();
  const std::string_view path = target.substr(0, target.find('?'));
  const Router::Match match = router_.find(header.method(), path);
  std::optional<Response> refusal;
  if (match.handler == nullptr) {
    refusal = unmatched_response(match, header, path);
  } else if (header.method() == beast_http::verb::get ||
             header.method() == beast_http::verb::head) {
    refusal = error_response(
        Status::bad_request,
        fmt::format("{} {} takes no request body", std::string_view(header.method_string()), path));
  } else if (auto mismatch = match.body_media_type.empty() || !expects_continue(header)
                                 ? std::nullopt
                                 : media_type_mismatch(header, match.body_media_type)) {
    // Not invited with a 100 Continue: the client need not send the body.
    refusal = error_response(Status::unsupported_media_type, *mismatch);
  } else {
    return std::nullopt;
  }
  refusal->keep_alive(false);  // the body is not read
  echo_tenant_id(header, *refusal);
  probe_.record(match.route, header.method_string(), refusal->result_int(), {});
  return refusal;
}

Response HttpServer::unmatched_response(const Router::Match& match, const Request& request,
                                        std::string_view path) {
  if (match.method_not_allowed) {
    Response response =
        error_response(Status::method_not_allowed,
                       fmt::format("method {} is not allowed on {} (allowed: {})",
                                   std::string_view(request.method_string()), path, match.allow));
    response.set(beast_http::field::allow, match.allow);
    return response;
  }
  return error_response(
      Status::not_found,
      fmt::format("no such path: {} {}", std::string_view(request.method_string()), path));
}

asio::awaitable<Response> HttpServer::dispatch(Request& request, StreamBody& stream,
                                               std::shared_ptr<const void>& keep, int peer_socket) {
  RequestContext context = RequestContext::from(request);
  context.received_at = std::chrono::steady_clock::now();
  context.peer_socket = peer_socket;
  const Router::Match match = router_.find(request.method(), context.path);
  context.route = match.route;

  Response response;
  if (match.handler != nullptr) {
    try {
      response = co_await (*match.handler)(request, context);
    } catch (const std::bad_alloc&) {
      context.log(*log(), spdlog::level::err,
                  fmt::format("out of memory on {}; answered 503", context.route));
      response = error_response(Status::service_unavailable,
                                "out of memory: the request cannot be handled now; retry later");
    } catch (...) {
      context.log(*log(), spdlog::level::err,
                  fmt::format("unhandled error on {}: {}", context.route, describe_current()));
      response = error_response(Status::internal_server_error,
                                "internal error: the request could not be handled");
    }
  } else {
    response = unmatched_response(match, request, context.path);
  }
  response.version(request.version());
  response.set(beast_http::field::date, http_date());
  if (!context.tenant_id.empty()) response.set("tenantId", context.tenant_id);
  stream = std::move(context.stream);
  keep = std::move(context.keep_until_sent);
  if (request.method() == beast_http::verb::head) {
    // What GET would answer, without its body (RFC 9110 §9.3.2).
    if (!stream) response.content_length(response.body().size());
    response.body().clear();
    stream = {};
  }
  probe_.record(context.route, request.method_string(), response.result_int(),
                std::chrono::steady_clock::now() - context.received_at);
  if (log()->should_log(spdlog::level::debug)) {
    context.log(*log(), spdlog::level::debug,
                fmt::format("{} {} -> {}", std::string_view(request.method_string()), context.path,
                            response.result_int()));
  }
  co_return response;
}

void HttpServer::replace_tls(std::shared_ptr<asio::ssl::context> context) {
  if (!context) throw std::invalid_argument("replace_tls: no TLS context");
  std::lock_guard lock(tls_mutex_);
  if (!options_.tls) throw std::logic_error("replace_tls: the server was started without TLS");
  options_.tls = std::move(context);
}

std::shared_ptr<asio::ssl::context> HttpServer::current_tls() {
  std::lock_guard lock(tls_mutex_);
  return options_.tls;
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
      if (c->busy || c->request_begun()) return;
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
