#include "security/digest.hpp"

#include <stdexcept>

#include <openssl/evp.h>

namespace flint::security {

std::string sha256_hex(std::string_view data) {
  // Fetched once: with EVP_sha256() OpenSSL 3 searches its providers on
  // every call, which costs more than hashing a small input.
  static const EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!sha256 || EVP_Digest(data.data(), data.size(), digest, &length, sha256, nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed (OpenSSL EVP_Digest)");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(length * 2, '\0');
  for (unsigned int i = 0; i < length; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 0xF];
  }
  return hex;
}

}  // namespace flint::security
