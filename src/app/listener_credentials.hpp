#pragma once

/// @file
/// The HTTP listener's secrets, read from files at start and again on SIGHUP.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <boost/asio/ssl/context.hpp>

#include "config/host_config.hpp"
#include "security/bearer_tokens.hpp"

namespace flint::app {

/// The TLS certificate, key and client CA (`http.tls.*`) and the bearer
/// tokens (`http.auth.tokens_file`) of the HTTP listener.
///
/// Read at construction, and read again by `reload`, so that a renewed
/// certificate or a rotated token takes effect without a restart. A reload
/// is all or nothing: when any file cannot be used, everything read before
/// stays in use. Thread-safe.
class ListenerCredentials {
 public:
  /// Reads the files named by `http` (none when neither TLS nor
  /// authentication is configured).
  /// @throws std::runtime_error naming the file and the problem.
  explicit ListenerCredentials(const config::HostConfig::Http& http);

  /// The TLS context for new connections; null when TLS is off.
  std::shared_ptr<boost::asio::ssl::context> tls() const;

  /// A check of an `Authorization` header against the current tokens (it
  /// follows reloads); empty when authentication is off.
  std::function<bool(std::string_view)> authorizer() const;

  /// How many tokens are accepted now (0 when authentication is off).
  std::size_t token_count() const;

  /// True when there is a file to read again.
  bool any() const noexcept { return tls_on_ || tokens_on_; }

  /// Reads every file again and, when all of them can be used, puts them in
  /// place of the previous ones.
  /// @returns what was read, for the log (e.g. "TLS certificate X, 2 bearer tokens").
  /// @throws std::runtime_error naming the file and the problem; nothing
  ///         changed then.
  std::string reload();

 private:
  struct Tokens {
    std::atomic<std::shared_ptr<const security::BearerTokens>> current;
  };

  std::shared_ptr<boost::asio::ssl::context> read_tls() const;

  config::HostConfig::Http::Tls tls_files_;
  std::filesystem::path tokens_file_;
  bool tls_on_ = false;
  bool tokens_on_ = false;
  mutable std::mutex mutex_;  // guards tls_
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::shared_ptr<Tokens> tokens_ = std::make_shared<Tokens>();
};

}  // namespace flint::app
