#pragma once

/// @file
/// API tokens: who may call Flint's HTTP listener.

#include <array>
#include <filesystem>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace flint::security {

/// A token file that cannot be used (missing, readable by others, malformed).
class TokenFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The bearer tokens accepted on the HTTP listener (`http.auth.tokens_file`).
///
/// Only the SHA-256 of each token is kept in memory, and a presented token is
/// compared with each in constant time, so neither the tokens nor how much of
/// one matched can leak. Immutable after construction; thread-safe.
class BearerTokens {
 public:
  /// Shortest token accepted: 128 bits of base64 or hex, and then some.
  static constexpr std::size_t kMinLength = 24;

  /// Reads `path`: one token per line; blank lines and lines starting with
  /// `#` are ignored, surrounding white space is trimmed.
  /// @throws TokenFileError naming the file and the line when the file is
  ///         missing or unreadable, grants any permission to group or others,
  ///         holds no token, or holds a token shorter than `kMinLength` or
  ///         with inner white space.
  static BearerTokens from_file(const std::filesystem::path& path);

  /// Tokens given directly (tests). Same rules as the file.
  /// @throws TokenFileError.
  static BearerTokens from_tokens(const std::vector<std::string_view>& tokens);

  /// True when `authorization` (an `Authorization` header value) is
  /// `Bearer <token>` (scheme case-insensitive) with an accepted token.
  bool accepts(std::string_view authorization) const;

  /// How many tokens are accepted.
  std::size_t size() const noexcept { return digests_.size(); }

 private:
  using Digest = std::array<unsigned char, 32>;
  static Digest digest(std::string_view token);
  std::vector<Digest> digests_;
};

}  // namespace flint::security
