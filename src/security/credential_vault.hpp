#pragma once

/// @file
/// Authenticated encryption of credentials at rest (AES-256-GCM).

#include <array>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace flint::security {

/// A sealed value could not be opened: wrong key, or tampered with.
class VaultError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Seals and opens secrets (deployment locations, which hold credentials)
/// with AES-256-GCM under one 256-bit key.
///
/// A sealed value is `version(1) | nonce(12) | ciphertext | tag(16)`; each
/// seal draws a fresh random nonce. Thread-safe (no mutable state).
class CredentialVault {
 public:
  /// A vault with the given key.
  explicit CredentialVault(const std::array<unsigned char, 32>& key) : key_(key) {}

  /// Loads the key from `path` (32 raw bytes, or 64 hex characters), or,
  /// when the file does not exist, creates it with a random key and mode 0600.
  /// @throws VaultError naming the file when it cannot be read, created, has
  ///         the wrong size, or is readable by group or others.
  static CredentialVault from_key_file(const std::filesystem::path& path);

  /// Encrypts `plaintext`.
  std::string seal(std::string_view plaintext) const;
  /// Decrypts a value made by `seal` under the same key.
  /// @throws VaultError when the value was tampered with or the key differs.
  std::string open(std::string_view sealed) const;

 private:
  std::array<unsigned char, 32> key_;
};

}  // namespace flint::security
