#pragma once

/// @file
/// How the client commands reach a Flint server: `--url`, `--token-file`, `--cacert`,
/// `--cert`, `--key`.

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "http_client.hpp"

namespace CLI {
class App;
}

namespace flint::cli {

/// Where `flint serve` listens by default.
inline constexpr const char* kDefaultUrl = "http://127.0.0.1:8290";

/// The server options every client command takes.
struct ServerAccess {
  /// Server address (`http[s]://HOST[:PORT][/PREFIX]`).
  std::string url = kDefaultUrl;
  /// File of the bearer token to send (`http.auth.tokens_file` on the server); empty = none.
  std::string token_file;
  /// PEM CA certificates the server's certificate must chain to over https;
  /// empty = the system's store.
  std::string ca_file;
  /// PEM client certificate chain for a server that requires one
  /// (`http.tls.client_ca_file`), and its private key; empty = none.
  std::string cert_file;
  std::string key_file;
};

/// Adds `--url`, `--token-file`, `--cacert`, `--cert` and `--key` to `command`.
void add_server_access_options(CLI::App& command, ServerAccess& access);

/// Adds `--tenant` to `command`: one header value, so valid UTF-8 without
/// control characters (a line break would start another header).
void add_tenant_option(CLI::App& command, std::optional<std::string>& tenant);

/// What is unsafe, though allowed, about sending `access`'s token: a token
/// file that group or others may read, a token sent in clear text (`http://`)
/// to a host other than this one. One line each; empty without a token.
std::vector<std::string> token_warnings(const ServerAccess& access);

/// A client for `access`. Writes each of `token_warnings` to `err` as
/// `flint: warning: ...`: the request is still made, as curl would make it.
/// @throws std::invalid_argument naming the option that is wrong (`--url`,
///   `--token-file`, `--cert` without `--key`).
HttpClient connect(const ServerAccess& access, std::ostream& err);

}  // namespace flint::cli
