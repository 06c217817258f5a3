#pragma once

/// @file
/// Base64 (RFC 4648, standard alphabet) for the `driverFiles` field.

#include <optional>
#include <string>
#include <string_view>

namespace flint::files {

/// Decodes standard-alphabet base64 (`A-Z a-z 0-9 + /`) with the `=` padding
/// RFC 4648 requires.
///
/// ASCII whitespace (space, tab, CR, LF, VT, FF) anywhere in the input is
/// ignored, so line-wrapped (MIME style) text decodes. Returns `std::nullopt`
/// for anything else: a character outside the alphabet, a length (without
/// whitespace) that is not a multiple of 4, misplaced or missing padding, or
/// data after the padding. Non-zero bits in the last, partial group are
/// accepted (RFC 4648 leaves rejecting them optional). The empty input
/// decodes to the empty string.
///
/// Table driven, one pass, a single allocation: fit for multi-MiB request
/// bodies. Pure function; thread-safe.
std::optional<std::string> decode_base64(std::string_view text);

/// Encodes `bytes` as standard-alphabet base64 with padding and no line
/// breaks. Pure function; thread-safe.
std::string encode_base64(std::string_view bytes);

}  // namespace flint::files
