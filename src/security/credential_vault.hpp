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

  /// Loads the key from `path` like `from_key_file`, but never creates it:
  /// a key that several processes share must be given, not invented.
  /// @throws VaultError naming the file when it is missing or unusable.
  static CredentialVault from_existing_key_file(const std::filesystem::path& path);

  /// A vault with the key given as 64 hex characters.
  /// @throws VaultError naming `origin` (e.g. an environment variable) otherwise.
  static CredentialVault from_hex_key(std::string_view hex, std::string_view origin);

  /// A fingerprint of the key: 16 hex digits of SHA-256 over a label and the
  /// key. Equal on two processes exactly when they hold the same key (short
  /// of a 64-bit collision); tells nothing else of the key.
  std::string key_id() const;

  /// Encrypts `plaintext`. `associated_data` is authenticated, not stored:
  /// `open` succeeds only with the same bytes (binds a value to its key, say,
  /// so that it cannot be replayed under another).
  std::string seal(std::string_view plaintext, std::string_view associated_data = {}) const;
  /// Decrypts a value made by `seal` under the same key and associated data.
  /// @throws VaultError when the value was tampered with, the key differs or
  ///         the associated data differs.
  std::string open(std::string_view sealed, std::string_view associated_data = {}) const;

 private:
  static CredentialVault load_key_file(const std::filesystem::path& path, bool create_if_missing);

  std::array<unsigned char, 32> key_;
};

}  // namespace flint::security
