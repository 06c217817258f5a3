#include "server_access.hpp"

#include <CLI/CLI.hpp>

namespace flint::cli {

void add_server_access_options(CLI::App& command, ServerAccess& access) {
  command.add_option("--url", access.url, "Flint server (http:// or https://)")
      ->capture_default_str();
  command.add_option("--token-file", access.token_file,
                     "File holding the bearer token to send (see http.auth.tokens_file)");
  command.add_option("--cacert", access.ca_file,
                     "PEM CA certificates to check an https server against (default: the "
                     "system's)");
}

HttpClient connect(const ServerAccess& access) {
  return HttpClient(parse_base_url(access.url), read_token_file(access.token_file), access.ca_file);
}

}  // namespace flint::cli
