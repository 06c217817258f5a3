#pragma once

/// @file
/// Property maps: the `systemProperties`, `resourceProperties` and
/// `requestProperties` of a request.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace flint::sdk {

/// Key material of a property of type `key` (an SSH or TLS key pair).
///
/// The private key is a secret: it is never logged (redacted views print
/// `****`) and is written to disk only where a driver chooses to.
struct KeyMaterial {
  /// Name of the key in the orchestrator (`keyName`).
  std::string key_name;
  /// PEM private key (`privateKey`); never empty in a valid map.
  std::string private_key;
  /// PEM public key (`publicKey`), when the orchestrator sent one.
  std::optional<std::string> public_key;

  /// Field-by-field equality.
  bool operator==(const KeyMaterial&) const = default;
};

/// One typed entry of a property map: `{"type": ..., "value": ...}`.
///
/// The type is kept as the orchestrator sent it: the well-known types are
/// `string`, `integer`, `float`, `boolean`, `timestamp`, `list`, `map` and
/// `key`; any other (custom) type name passes through untouched. A value-type:
/// copyable, not thread-safe for concurrent mutation.
class Property {
 public:
  /// A property of type `string` with a null value.
  Property() : type_("string") {}
  /// A property of the given type and value.
  Property(std::string type, boost::json::value value)
      : type_(std::move(type)), value_(std::move(value)) {}

  /// A `string` property.
  static Property string(std::string_view value) { return {"string", boost::json::string(value)}; }
  /// An `integer` property.
  static Property integer(std::int64_t value) { return {"integer", value}; }
  /// A `boolean` property.
  static Property boolean(bool value) { return {"boolean", value}; }
  /// A `key` property carrying key material (its `value` is the key name).
  static Property key(KeyMaterial material);
  /// A `key` property carrying key material and the `value` received beside
  /// it (null when the entry had none), as the JSON decoder builds it.
  static Property key(KeyMaterial material, boost::json::value value);

  /// The type name as received (`"string"`, `"key"`, or a custom name).
  const std::string& type() const noexcept { return type_; }
  /// The value; null when the entry had no `value`.
  const boost::json::value& value() const noexcept { return value_; }
  /// True for entries of type `key`.
  bool is_key() const noexcept { return key_.has_value(); }
  /// The key material of a `key` entry, or null for any other type.
  const KeyMaterial* key_material() const noexcept { return key_ ? &*key_ : nullptr; }

  /// The value as a string when it is a JSON string, otherwise nullopt.
  std::optional<std::string_view> as_string() const noexcept;
  /// The value as an integer when it is a JSON integer (or an integral
  /// string such as `"5"`, which some orchestrators send), otherwise nullopt.
  std::optional<std::int64_t> as_integer() const noexcept;
  /// The value as a boolean when it is a JSON boolean (or `"true"`/`"false"`
  /// in any case).
  std::optional<bool> as_boolean() const noexcept;

  /// Type, value and key material equality.
  bool operator==(const Property&) const = default;

 private:
  std::string type_;
  boost::json::value value_;
  std::optional<KeyMaterial> key_;
};

/// True when a property or field name looks like it holds a secret
/// (password, secret, token, private key, credential...). Used by every
/// redacted view so that such values never reach a log.
bool is_secret_name(std::string_view name) noexcept;

/// The text that replaces a secret in logs and redacted views.
inline constexpr std::string_view kRedacted = "****";

namespace detail {
/// Internal, not part of the API: the JSON decoders' access (sdk/src/json.cpp).
struct DecodedAppend;
}  // namespace detail

/// An ordered map of property name to `Property`.
///
/// Keeps the order in which entries arrived (the wire order) and looks names
/// up linearly: maps hold tens of entries, where a flat vector is fastest.
/// A value-type: copyable; const methods may be called from several threads.
class PropertyMap {
 public:
  /// A (name, property) pair.
  using Entry = std::pair<std::string, Property>;
  /// Iterator over entries in wire order.
  using const_iterator = std::vector<Entry>::const_iterator;

  /// An empty map.
  PropertyMap() = default;
  /// A map with the given entries (later duplicates replace earlier ones).
  PropertyMap(std::initializer_list<Entry> entries);

  /// The entry named `name`, or null.
  const Property* find(std::string_view name) const noexcept;
  /// True when an entry named `name` exists.
  bool contains(std::string_view name) const noexcept { return find(name) != nullptr; }
  /// The entry named `name`.
  /// @throws InvalidRequestError naming the property when it is absent.
  const Property& at(std::string_view name) const;
  /// The string value of `name`, or `fallback` when absent, null or not a string.
  std::string string_or(std::string_view name, std::string_view fallback) const;

  /// Sets `name`, replacing an existing entry in place or appending a new one.
  void set(std::string name, Property property);
  /// Removes `name`; returns whether it existed.
  bool erase(std::string_view name);
  /// Reserves room for `count` entries (a decoder knows the count up front).
  void reserve(std::size_t count) { entries_.reserve(count); }

  /// Number of entries.
  std::size_t size() const noexcept { return entries_.size(); }
  /// True when the map has no entries.
  bool empty() const noexcept { return entries_.empty(); }
  /// First entry in wire order.
  const_iterator begin() const noexcept { return entries_.begin(); }
  /// Past-the-end iterator.
  const_iterator end() const noexcept { return entries_.end(); }

  /// A JSON view safe for logs: key material (a key entry's private key and
  /// value), values of secret-looking names at any depth (a null stays null)
  /// and any string holding a PEM `PRIVATE KEY-----` or `PRIVATE KEY
  /// BLOCK-----` header are replaced by `****`; everything else as on the
  /// wire.
  boost::json::object redacted() const;

  /// Entry-by-entry equality, order included.
  bool operator==(const PropertyMap&) const = default;

 private:
  friend struct detail::DecodedAppend;
  std::vector<Entry> entries_;
};

}  // namespace flint::sdk
