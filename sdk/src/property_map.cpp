#include <algorithm>
#include <array>
#include <charconv>
#include <limits>

#include <flint/sdk/errors.hpp>
#include <flint/sdk/property_map.hpp>

#include "redaction.hpp"

namespace flint::sdk {
namespace {

constexpr char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
}
constexpr bool is_lower_or_digit(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// `needle` is lower-case. A plain scan: names are short and this runs for every
// redacted field, so no allocation and no regex.
bool icontains(std::string_view haystack, std::string_view needle) noexcept {
  if (needle.size() > haystack.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    std::size_t j = 0;
    while (j < needle.size() && lower(haystack[i + j]) == needle[j]) ++j;
    if (j == needle.size()) return true;
  }
  return false;
}

bool iends_with(std::string_view text, std::string_view suffix) noexcept {
  return text.size() >= suffix.size() &&
         std::equal(suffix.begin(), suffix.end(), text.end() - std::ptrdiff_t(suffix.size()),
                    [](char s, char t) { return s == lower(t); });
}

bool is_separator(char c) noexcept {
  return c == '_' || c == '-' || c == '.' || c == ' ';
}

// "key" counts only as a word of its own at the end of the name: `key`,
// `ssh_key`, `access-key`, `sshKey`, `AESKey`, `SSH_KEYS`, but not `monkey`,
// `MONKEY` or `keyName`. Public keys are not secrets: `publicKey` and
// `public_key` stay visible.
bool ends_with_key_word(std::string_view name) noexcept {
  std::size_t word = 0;
  if (iends_with(name, "keys")) {
    word = 4;
  } else if (iends_with(name, "key")) {
    word = 3;
  } else {
    return false;
  }
  std::string_view stem = name.substr(0, name.size() - word);
  if (stem.empty()) return true;
  const char k = name[stem.size()];
  const bool separated = is_separator(stem.back());
  // `sshKey`, and after an acronym `AESKey` (a title-case "Key", unlike `MONKEY`).
  const bool camel_case =
      k == 'K' && (is_lower_or_digit(stem.back()) ||
                   (stem.back() >= 'A' && stem.back() <= 'Z' && name[stem.size() + 1] == 'e'));
  if (!separated && !camel_case) return false;
  if (separated) stem.remove_suffix(1);
  return !iends_with(stem, "public");
}

}  // namespace

bool is_secret_name(std::string_view name) noexcept {
  // Substrings that mark a secret wherever they appear in a name.
  static constexpr std::array<std::string_view, 12> kMarkers = {
      "password", "passwd",     "passphrase", "secret",  "token",  "private",
      "creds",    "credential", "apikey",     "api_key", "sshkey", "accesskey"};
  for (std::string_view marker : kMarkers) {
    if (icontains(name, marker)) return true;
  }
  return ends_with_key_word(name);
}

Property Property::key(KeyMaterial material) {
  boost::json::value name(boost::json::string(material.key_name));
  return key(std::move(material), std::move(name));
}

Property Property::key(KeyMaterial material, boost::json::value value) {
  Property property("key", std::move(value));
  property.key_ = std::move(material);
  return property;
}

std::optional<std::string_view> Property::as_string() const noexcept {
  if (const auto* text = value_.if_string()) return std::string_view(*text);
  return std::nullopt;
}

std::optional<std::int64_t> Property::as_integer() const noexcept {
  if (const auto* number = value_.if_int64()) return *number;
  if (const auto* number = value_.if_uint64()) {
    if (*number <= std::uint64_t(std::numeric_limits<std::int64_t>::max())) {
      return std::int64_t(*number);
    }
    return std::nullopt;
  }
  if (const auto* text = value_.if_string()) {
    std::int64_t number = 0;
    const char* end = text->data() + text->size();
    auto [ptr, ec] = std::from_chars(text->data(), end, number);
    if (ec == std::errc() && ptr == end && !text->empty()) return number;
  }
  return std::nullopt;
}

std::optional<bool> Property::as_boolean() const noexcept {
  if (const auto* flag = value_.if_bool()) return *flag;
  if (const auto* text = value_.if_string()) {
    const std::string_view view(*text);
    // Case-insensitive: Python-based orchestrators send "True"/"False".
    auto equals = [&](std::string_view word) {
      return view.size() == word.size() && iends_with(view, word);
    };
    if (equals("true")) return true;
    if (equals("false")) return false;
  }
  return std::nullopt;
}

PropertyMap::PropertyMap(std::initializer_list<Entry> entries) {
  entries_.reserve(entries.size());
  for (const auto& entry : entries) set(entry.first, entry.second);
}

const Property* PropertyMap::find(std::string_view name) const noexcept {
  for (const auto& entry : entries_) {
    if (entry.first == name) return &entry.second;
  }
  return nullptr;
}

const Property& PropertyMap::at(std::string_view name) const {
  if (const auto* property = find(name)) return *property;
  throw InvalidRequestError(std::string(name) + ": required property is missing");
}

std::string PropertyMap::string_or(std::string_view name, std::string_view fallback) const {
  const auto* property = find(name);
  if (property == nullptr) return std::string(fallback);
  return std::string(property->as_string().value_or(fallback));
}

void PropertyMap::set(std::string name, Property property) {
  for (auto& entry : entries_) {
    if (entry.first == name) {
      entry.second = std::move(property);
      return;
    }
  }
  entries_.emplace_back(std::move(name), std::move(property));
}

bool PropertyMap::erase(std::string_view name) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& entry) { return entry.first == name; });
  if (it == entries_.end()) return false;
  entries_.erase(it);
  return true;
}

boost::json::object PropertyMap::redacted() const {
  boost::json::object out;
  out.reserve(entries_.size());
  for (const auto& [name, property] : entries_) {
    boost::json::object entry;
    entry["type"] = property.type();
    if (const auto* key = property.key_material()) {
      entry["keyName"] = key->key_name;
      entry["privateKey"] = kRedacted;
      if (key->public_key) entry["publicKey"] = *key->public_key;
      // The contract gives a key entry no value: whatever came in it is the
      // sender's, and as secret as the key.
      if (!property.value().is_null()) entry["value"] = kRedacted;
    } else {
      entry["value"] = detail::redact_named(name, property.value());
    }
    out[name] = std::move(entry);
  }
  return out;
}

namespace detail {

bool looks_like_private_key(std::string_view text) noexcept {
  // Matches "-----BEGIN PRIVATE KEY-----", "... RSA PRIVATE KEY-----",
  // "... ENCRYPTED PRIVATE KEY-----", "... OPENSSH PRIVATE KEY-----", and
  // OpenPGP's "-----BEGIN PGP PRIVATE KEY BLOCK-----".
  return text.find("PRIVATE KEY-----") != std::string_view::npos ||
         text.find("PRIVATE KEY BLOCK-----") != std::string_view::npos;
}

boost::json::value redact(const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::object: {
      const auto& in = value.get_object();
      boost::json::object out;
      out.reserve(in.size());
      for (const auto& field : in) out[field.key()] = redact_named(field.key(), field.value());
      return out;
    }
    case boost::json::kind::array: {
      const auto& in = value.get_array();
      boost::json::array out;
      out.reserve(in.size());
      for (const auto& item : in) out.push_back(redact(item));
      return out;
    }
    case boost::json::kind::string:
      if (looks_like_private_key(value.get_string())) return boost::json::string(kRedacted);
      return boost::json::value(value, {});
    default:
      return boost::json::value(value, {});
  }
}

boost::json::value redact_named(std::string_view name, const boost::json::value& value) {
  if (!value.is_null() && is_secret_name(name)) return boost::json::string(kRedacted);
  return redact(value);
}

}  // namespace detail
}  // namespace flint::sdk
