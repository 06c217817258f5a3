/// @file
/// The baseline of the HTTP benchmark: a minimal Boost.Beast HTTP/1.1 server.
///
/// It answers every request, whatever its method, path or body, with the
/// fixed body `{"vitals":{"app":{"status":"OK"}}}`. `bench/run` measures
/// Flint's throughput as a ratio to this server, in the same run, on the same
/// machine and with the same number of I/O threads, so that the ratio says
/// what Flint's own work costs rather than how fast the machine is.
///
/// It does what any server must and nothing more: one io_context run by N
/// threads, a coroutine per connection, keep-alive, the request body read in
/// full (into memory, as Flint must) and then discarded.

#include <cstdint>
#include <cstdio>
#include <exception>
#include <string_view>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace flint::bench {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

constexpr std::string_view kBody = R"({"vitals":{"app":{"status":"OK"}}})";
// Large enough for any benchmark body; a real limit, as every server needs one.
constexpr std::uint64_t kBodyLimit = 64U * 1024U * 1024U;

/// Serves one connection until the peer closes it or asks to close.
asio::awaitable<void> serve(tcp::socket socket) {
  boost::beast::flat_buffer buffer;
  // Beast reads what the buffer can hold, 512 bytes at first; Flint makes room
  // for the announced body, so the baseline gets room for the benchmark's too
  // (one read per request for both, not nine here).
  buffer.reserve(8 * 1024);
  try {
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(kBodyLimit);
      co_await http::async_read(socket, buffer, parser, asio::use_awaitable);
      const bool keep_alive = parser.get().keep_alive();

      http::response<http::string_body> response{http::status::ok, parser.get().version()};
      response.set(http::field::content_type, "application/json");
      response.body() = kBody;
      response.keep_alive(keep_alive);
      response.prepare_payload();
      co_await http::async_write(socket, response, asio::use_awaitable);
      if (!keep_alive) break;
    }
  } catch (const boost::system::system_error&) {
    // The peer closed or reset the connection: the normal end of a keep-alive session.
  }
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
}

/// Accepts connections forever; each runs on its own strand of the shared io_context.
asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, asio::io_context& io) {
  for (;;) {
    tcp::socket socket = co_await acceptor.async_accept(asio::make_strand(io), asio::use_awaitable);
    socket.set_option(tcp::no_delay(true));
    const auto executor = socket.get_executor();
    asio::co_spawn(executor, serve(std::move(socket)), asio::detached);
  }
}

}  // namespace
}  // namespace flint::bench

int main(int argc, char** argv) {
  namespace asio = boost::asio;
  using tcp = asio::ip::tcp;

  CLI::App app{"Minimal Beast HTTP server: the baseline of Flint's HTTP benchmark"};
  std::uint16_t port = 0;
  unsigned threads = 2;
  std::string address = "127.0.0.1";
  app.add_option("--port", port, "TCP port to listen on (0: any free port, printed)")->required();
  app.add_option("--threads", threads, "I/O threads running the io_context")
      ->check(CLI::Range(1U, 256U));
  app.add_option("--address", address, "Address to listen on");
  CLI11_PARSE(app, argc, argv);

  try {
    asio::io_context io{static_cast<int>(threads)};
    tcp::acceptor acceptor{io};
    const tcp::endpoint endpoint{asio::ip::make_address(address), port};
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
    std::printf("listening on %s:%u with %u threads\n", address.c_str(),
                static_cast<unsigned>(acceptor.local_endpoint().port()), threads);
    std::fflush(stdout);

    asio::co_spawn(io, flint::bench::accept_loop(acceptor, io), [](std::exception_ptr error) {
      if (error) std::rethrow_exception(error);
    });
    asio::signal_set signals{io, SIGINT, SIGTERM};
    signals.async_wait([&](const boost::system::error_code&, int) { io.stop(); });

    std::vector<std::jthread> workers;
    workers.reserve(threads - 1);
    for (unsigned i = 1; i < threads; ++i) workers.emplace_back([&io] { io.run(); });
    io.run();
  } catch (const std::exception& error) {
    std::fprintf(stderr, "flint_bench_baseline_server: %s\n", error.what());
    return 1;
  }
  return 0;
}
