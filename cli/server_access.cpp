#include "server_access.hpp"

#include <CLI/CLI.hpp>
#include <boost/algorithm/string/predicate.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <sys/stat.h>

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
  auto* key = command.add_option("--key", access.key_file, "PEM private key of --cert");
  command
      .add_option("--cert", access.cert_file,
                  "PEM client certificate (chain) for a server that requires one "
                  "(http.tls.client_ca_file)")
      ->needs(key);
  key->needs("--cert");
}

void add_tenant_option(CLI::App& command, std::optional<std::string>& tenant) {
  const CLI::Validator header_value(
      [](const std::string& text) -> std::string {
        if (text.empty()) return "must not be empty";
        if (text.front() == ' ' || text.back() == ' ') {
          return "must not start or end with a space (HTTP drops it: the server would see another "
                 "tenant, or none)";
        }
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

namespace {

// This machine: a token sent there in clear text stays off the network.
bool is_local_host(std::string_view host) {
  if (boost::algorithm::iequals(host, "localhost") || host == "::1") return true;
  boost::system::error_code error;
  const auto address = boost::asio::ip::make_address_v4(host, error);
  return !error && address.is_loopback();
}

}  // namespace

std::vector<std::string> token_warnings(const ServerAccess& access) {
  std::vector<std::string> warnings;
  if (access.token_file.empty()) return warnings;
  struct stat info {};
  if (::stat(access.token_file.c_str(), &info) == 0 && (info.st_mode & 077) != 0) {
    warnings.push_back("--token-file " + access.token_file +
                       " grants permissions to group or others (chmod 600 it)");
  }
  const BaseUrl url = parse_base_url(access.url);
  if (!url.tls && !is_local_host(url.host)) {
    warnings.push_back("the token goes to " + url.host +
                       " in clear text (http://): anyone on the way can read and use it; use "
                       "https://");
  }
  return warnings;
}

HttpClient connect(const ServerAccess& access, std::ostream& err) {
  HttpClient client(
      parse_base_url(access.url), read_token_file(access.token_file),
      {.ca_file = access.ca_file, .cert_file = access.cert_file, .key_file = access.key_file});
  for (const auto& warning : token_warnings(access)) err << "flint: warning: " << warning << '\n';
  return client;
}

}  // namespace flint::cli
