#pragma once

/// @file
/// Test helper: an HTTP server on 127.0.0.1 that answers with a handler
/// function and records every request.

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace flint::cli::testing {

/// A request as the fake server received it.
struct RecordedRequest {
  std::string method;
  std::string target;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  /// The value of header `name` (case-insensitive), or empty.
  std::string header(std::string_view name) const;
};

/// The reply the handler chooses.
struct FakeReply {
  unsigned status = 200;
  std::string body;
};

/// Serves one connection at a time on an ephemeral port, on its own thread,
/// echoing a request's `tenantId` header as Flint does,
/// until destroyed. The handler runs on that thread.
class FakeHttpServer {
 public:
  using Handler = std::function<FakeReply(const RecordedRequest&)>;

  explicit FakeHttpServer(Handler handler);
  ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  /// `http://127.0.0.1:<port>`.
  std::string url() const;
  /// Every request so far.
  std::vector<RecordedRequest> requests() const;

 private:
  void serve();

  Handler handler_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::vector<RecordedRequest> requests_;
  std::thread thread_;
};

/// A port on 127.0.0.1 that refuses connections: bound without listening,
/// and held so for the object's life, so no test running beside this one
/// can take it meanwhile (as it could a port bound, then released).
class RefusingPort {
 public:
  RefusingPort();
  /// The port number.
  unsigned short port() const { return port_; }

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  unsigned short port_ = 0;
};

}  // namespace flint::cli::testing
