#pragma once

/// @file
/// How the client commands reach a Flint server: `--url`, `--token-file`, `--cacert`.

#include <optional>
#include <string>

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
};

/// Adds `--url`, `--token-file` and `--cacert` to `command`.
void add_server_access_options(CLI::App& command, ServerAccess& access);

/// Adds `--tenant` to `command`: one header value, so valid UTF-8 without
/// control characters (a line break would start another header).
void add_tenant_option(CLI::App& command, std::optional<std::string>& tenant);

/// A client for `access`.
/// @throws std::invalid_argument naming the option that is wrong (`--url`,
///   `--token-file`).
HttpClient connect(const ServerAccess& access);

}  // namespace flint::cli
