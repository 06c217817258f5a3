#include "app/listener_credentials.hpp"

#include <fmt/format.h>

#include "http/http_server.hpp"

namespace flint::app {

ListenerCredentials::ListenerCredentials(const config::HostConfig::Http& http)
    : tls_files_(http.tls),
      tokens_file_(http.auth.tokens_file),
      tls_on_(!http.tls.cert_file.empty()),
      tokens_on_(!http.auth.tokens_file.empty()) {
  // Tokens first, as before there was a reload: the start names a bad token
  // file before a bad TLS file.
  if (tokens_on_) {
    tokens_->current.store(std::make_shared<const security::BearerTokens>(
        security::BearerTokens::from_file(tokens_file_)));
  }
  tls_ = read_tls();
}

std::shared_ptr<boost::asio::ssl::context> ListenerCredentials::read_tls() const {
  if (!tls_on_) return nullptr;
  return http::make_tls_context({.certificate = tls_files_.cert_file,
                                 .private_key = tls_files_.key_file,
                                 .client_ca = tls_files_.client_ca_file});
}

std::shared_ptr<boost::asio::ssl::context> ListenerCredentials::tls() const {
  std::lock_guard lock(mutex_);
  return tls_;
}

std::function<bool(std::string_view)> ListenerCredentials::authorizer() const {
  if (!tokens_on_) return {};
  return [tokens = tokens_](std::string_view authorization) {
    return tokens->current.load()->accepts(authorization);
  };
}

std::size_t ListenerCredentials::token_count() const {
  const auto current = tokens_->current.load();
  return current ? current->size() : 0;
}

std::string ListenerCredentials::reload() {
  // Everything is read before anything is replaced.
  std::shared_ptr<const security::BearerTokens> tokens;
  if (tokens_on_) {
    tokens = std::make_shared<const security::BearerTokens>(
        security::BearerTokens::from_file(tokens_file_));
  }
  auto tls = read_tls();

  std::string read;
  if (tls) {
    std::lock_guard lock(mutex_);
    tls_ = std::move(tls);
    read = "TLS certificate " + tls_files_.cert_file.string() + " (new connections use it)";
  }
  if (tokens) {
    if (!read.empty()) read += ", ";
    read += fmt::format(
        "{} bearer token{} from {} (every request from now on is checked against "
        "them, on open connections too)",
        tokens->size(), tokens->size() == 1 ? "" : "s", tokens_file_.string());
    tokens_->current.store(std::move(tokens));
  }
  return read;
}

}  // namespace flint::app
