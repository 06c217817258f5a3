#pragma once

/// @file
/// A small synchronous HTTP/1.1 client (Boost.Beast) for the CLI commands.

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flint::cli {

/// The server address given with `--url`: `http[s]://host[:port][/prefix]`.
struct BaseUrl {
  /// Host name or address (brackets of an IPv6 literal removed).
  std::string host;
  /// Port, `80` when the URL names none.
  std::string port;
  /// Path prefix without a trailing slash (empty for the root).
  std::string prefix;
  /// The URL as the user wrote it, for messages.
  std::string text;
  /// `https`: TLS, the server's certificate checked (chain and host name).
  bool tls = false;
};

/// Reads the bearer token the CLI sends (`--token-file`): the first line that
/// is neither blank nor a `#` comment, trimmed. An empty path means none.
/// @throws std::invalid_argument naming `--token-file` and the file when it
///   cannot be read or holds no token.
std::string read_token_file(const std::string& path);

/// Parses `--url` (`http` or `https`; port 80 or 443 unless given).
/// @throws std::invalid_argument naming `--url` and the problem (not a URL,
///   another scheme, user info, a query or fragment).
BaseUrl parse_base_url(std::string_view text);

/// A reply, whatever its status.
struct HttpResponse {
  /// Status code (200, 202, 400...).
  unsigned status = 0;
  /// Reason phrase sent by the server (may be empty).
  std::string reason;
  /// `Content-Type` header value (may be empty).
  std::string content_type;
  /// The whole body.
  std::string body;
};

/// The exchange itself failed: no connection, a time-out, a broken reply.
/// `what()` is one line fit for the terminal, e.g.
/// `cannot connect to http://127.0.0.1:8290: Connection refused`.
class HttpError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// No reply came to a request that was sent (or sent in part): its time
/// limit passed, or the connection ended. The server may have acted on it.
class NoReplyError : public HttpError {
 public:
  using HttpError::HttpError;
};

/// Synchronous HTTP/1.1 client: one connection per request (the CLI makes a
/// handful), over TCP or TLS.
///
/// Not thread-safe: use one instance per thread. Holds no connection between
/// calls.
/// How the client checks the server, and proves itself, over https.
struct TlsFiles {
  /// PEM CA certificates the server's must chain to; empty = the system's store.
  std::string ca_file;
  /// PEM certificate chain to present (mutual TLS); empty = none.
  std::string cert_file;
  /// PEM private key of `cert_file`.
  std::string key_file;
};

class HttpClient {
 public:
  /// Extra request headers as (name, value) pairs.
  using Headers = std::vector<std::pair<std::string, std::string>>;

  /// A client for the server at `base`; every request carries
  /// `Authorization: Bearer <token>` unless `token` is empty. Over https the
  /// server's certificate must chain to a CA of `tls.ca_file` (PEM), or of
  /// the system's store when it is empty, and name the URL's host; the
  /// client presents `tls.cert_file` when it is set.
  explicit HttpClient(BaseUrl base, std::string token = {}, TlsFiles tls = {})
      : base_(std::move(base)), token_(std::move(token)), tls_(std::move(tls)) {}

  /// Whether requests carry a bearer token.
  bool sends_token() const noexcept { return !token_.empty(); }

  /// `GET prefix + target` (target starts with `/` and may carry a query).
  /// `timeout` bounds the whole exchange, connection included.
  /// @throws HttpError when no complete reply arrives in time.
  HttpResponse get(std::string_view target, std::chrono::milliseconds timeout);

  /// `POST prefix + target` with a JSON body.
  /// @throws HttpError when no complete reply arrives in time.
  HttpResponse post_json(std::string_view target, std::string body, const Headers& headers,
                         std::chrono::milliseconds timeout);

  /// The server address.
  const BaseUrl& base() const noexcept { return base_; }

 private:
  HttpResponse exchange(std::string_view method, std::string_view target, std::string body,
                        const Headers& headers, std::chrono::milliseconds timeout);

  BaseUrl base_;
  std::string token_;
  TlsFiles tls_;
};

}  // namespace flint::cli
