#include "security/bearer_tokens.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>

namespace flint::security {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Why a token is refused, or empty when it is acceptable.
std::string check(std::string_view token) {
  if (token.size() < BearerTokens::kMinLength) {
    return "a token is shorter than " + std::to_string(BearerTokens::kMinLength) + " characters";
  }
  if (std::any_of(token.begin(), token.end(),
                  [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; })) {
    return "a token contains white space";
  }
  return {};
}

}  // namespace

BearerTokens::Digest BearerTokens::digest(std::string_view token) {
  Digest out{};
  unsigned int length = 0;
  if (EVP_Digest(token.data(), token.size(), out.data(), &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 is not available");
  }
  return out;
}

BearerTokens BearerTokens::from_file(const std::filesystem::path& path) {
  const std::string name = path.string();
  struct stat info {};
  if (::stat(name.c_str(), &info) != 0) {
    throw TokenFileError("token file " + name + " does not exist");
  }
  // Reading a pipe would wait for a writer, forever at a start.
  if (!S_ISREG(info.st_mode)) {
    throw TokenFileError("token file " + name +
                         " is not a regular file (a directory, a device, a pipe or a socket)");
  }
  if ((info.st_mode & 077) != 0) {
    throw TokenFileError("token file " + name +
                         " grants permissions to group or others (chmod 600 it)");
  }
  std::ifstream in(path);
  if (!in) throw TokenFileError("cannot read the token file " + name + ": " + std::strerror(errno));
  BearerTokens tokens;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const std::string_view token = trim(line);
    if (token.empty() || token.front() == '#') continue;
    // The line number, never the token: this message may be logged.
    if (const std::string problem = check(token); !problem.empty()) {
      throw TokenFileError("token file " + name + ", line " + std::to_string(number) + ": " +
                           problem);
    }
    tokens.digests_.push_back(digest(token));
  }
  if (in.bad()) throw TokenFileError("cannot read the token file " + name);
  if (tokens.digests_.empty()) throw TokenFileError("token file " + name + " holds no token");
  return tokens;
}

BearerTokens BearerTokens::from_tokens(const std::vector<std::string_view>& list) {
  BearerTokens tokens;
  for (const std::string_view token : list) {
    if (const std::string problem = check(token); !problem.empty()) throw TokenFileError(problem);
    tokens.digests_.push_back(digest(token));
  }
  if (tokens.digests_.empty()) throw TokenFileError("no token given");
  return tokens;
}

bool BearerTokens::accepts(std::string_view authorization) const {
  authorization = trim(authorization);
  const auto space = authorization.find(' ');
  if (space == std::string_view::npos || !iequals(authorization.substr(0, space), "Bearer")) {
    return false;
  }
  const Digest presented = digest(trim(authorization.substr(space + 1)));
  // Every digest is compared, whatever matched: the time taken says nothing.
  bool accepted = false;
  for (const Digest& known : digests_) {
    accepted |= CRYPTO_memcmp(known.data(), presented.data(), presented.size()) == 0;
  }
  return accepted;
}

}  // namespace flint::security
