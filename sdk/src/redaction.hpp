#pragma once

// Internal to the SDK library: the one recursive redaction used by every
// redacted view, so that they all hide the same things.

#include <string_view>

#include <boost/json/value.hpp>

namespace flint::sdk::detail {

/// True when `text` contains a PEM private key block header.
bool looks_like_private_key(std::string_view text) noexcept;

/// A copy of `value` where, at any depth, the values of secret-looking object
/// keys and strings that look like PEM private keys are replaced by `****`.
boost::json::value redact(const boost::json::value& value);

/// `redact(value)`, or `****` outright when `name` itself looks secret and the
/// value is not null (a null hides nothing, and shows the field was empty).
boost::json::value redact_named(std::string_view name, const boost::json::value& value);

}  // namespace flint::sdk::detail
