#pragma once

/// @file
/// Message digests.

#include <string>
#include <string_view>

namespace flint::security {

/// The SHA-256 of `data` as 64 lower-case hex digits. Thread-safe.
/// @throws std::runtime_error when OpenSSL fails (no SHA-256 provider).
std::string sha256_hex(std::string_view data);

}  // namespace flint::security
