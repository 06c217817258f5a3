#include "server_access.hpp"

#include <CLI/CLI.hpp>

#include <flint/sdk/json.hpp>

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

void add_tenant_option(CLI::App& command, std::optional<std::string>& tenant) {
  const CLI::Validator header_value(
      [](const std::string& text) -> std::string {
        if (text.empty()) return "must not be empty";
        if (!sdk::json::is_valid_utf8(text)) return "must be UTF-8 text";
        for (const char c : text) {
          if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            return "must not hold a control character (a line break would start another header)";
          }
        }
        return {};
      },
      "ID");
  command.add_option("--tenant", tenant, "Tenant id, sent as the tenantId header")
      ->check(header_value);
}

HttpClient connect(const ServerAccess& access) {
  return HttpClient(parse_base_url(access.url), read_token_file(access.token_file), access.ca_file);
}

}  // namespace flint::cli
