#pragma once

/// @file
/// Which entries of a string map (`messaging.config`, `drivers.settings`...)
/// hold secrets, so that `effective_yaml` and errors never show their values.

#include <string_view>

namespace flint::config {

/// Whether the entry `name` of a string map looks like it holds a secret. The
/// SDK's `flint::sdk::is_secret_name` decides, so that the configuration and
/// the logs agree (password, passphrase, secret, token, private, credential,
/// creds, a trailing word `key`...); on top of it, for librdkafka's names: a
/// dotted word `key` anywhere (`ssl.key.pem`, a private key) and a name ending
/// in `.config` (`sasl.oauthbearer.config` carries `clientSecret=...`).
/// Pure function, thread-safe.
bool looks_secret(std::string_view name) noexcept;

}  // namespace flint::config
