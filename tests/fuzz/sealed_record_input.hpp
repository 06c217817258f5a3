#pragma once

/// @file
/// What the fuzz targets of sealed Kafka records (cluster state, request
/// queue) share: the fixed cluster key, and the reading of an input as
/// `<record key>\n<plaintext record>`, sealed under that key with the record
/// key bound, so that the fuzzer reaches the JSON decoding behind the seal.
/// An input without a newline is the record's value itself (base64 and the
/// seal), under the key "req-1".

#include <cstdlib>
#include <string>
#include <string_view>

#include "files/base64.hpp"
#include "security/credential_vault.hpp"

namespace flint::fuzz {

/// The cluster key every input is sealed under.
inline const security::CredentialVault& fuzz_vault() {
  static const auto instance =
      security::CredentialVault::from_hex_key(std::string(64, '7'), "fuzz key");
  return instance;
}

/// Aborts (a finding) unless `condition` holds.
inline void check(bool condition) {
  if (!condition) std::abort();
}

/// A record as read from Kafka: its key and its value.
struct SealedRecord {
  std::string_view key;
  std::string value;
};

/// The record `input` stands for (see the file comment); `key` views `input`.
inline SealedRecord sealed_record(std::string_view input) {
  const auto newline = input.find('\n');
  if (newline == std::string_view::npos) return {"req-1", std::string(input)};
  const std::string_view key = input.substr(0, newline);
  return {key, files::encode_base64(fuzz_vault().seal(input.substr(newline + 1), key))};
}

}  // namespace flint::fuzz
