#include "config/secret_name.hpp"

#include <algorithm>
#include <cctype>

#include <flint/sdk/property_map.hpp>

namespace flint::config {
namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

}  // namespace

bool looks_secret(std::string_view name) noexcept {
  if (flint::sdk::is_secret_name(name)) return true;
  // librdkafka's `ssl.key.pem` holds a private key, yet `key` is not its last word.
  for (std::size_t start = 0;;) {
    const auto dot = name.find('.', start);
    const auto word = name.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (iequals(word, "key") || iequals(word, "keys")) return true;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  // `sasl.oauthbearer.config` is a list of settings, `clientSecret=...` among them.
  constexpr std::string_view suffix = ".config";
  return name.size() >= suffix.size() && iequals(name.substr(name.size() - suffix.size()), suffix);
}

}  // namespace flint::config
