#pragma once

/// @file
/// A hash for unordered containers keyed by `std::string` and looked up by
/// `std::string_view`.

#include <cstddef>
#include <functional>
#include <string_view>

namespace flint::sdk {

/// Transparent string hash: with `std::equal_to<>`, an unordered container
/// keyed by `std::string` finds a `std::string_view` or a C string without
/// building a `std::string` (no allocation per lookup).
///
/// The call operator is deliberately not `noexcept`: libstdc++ then stores
/// each key's hash in its node, so a lookup compares stored hashes, not whole
/// keys, and never re-hashes a bucket's keys to find where the bucket ends.
/// That matters for long keys (ids, SQL text, label sets) in large maps.
///
/// Thread-safety: stateless; any thread.
struct StringHash {
  /// Marks the hash as transparent (heterogeneous lookup).
  using is_transparent = void;
  /// The hash of `text`, equal for every string type holding the same
  /// characters.
  std::size_t operator()(std::string_view text) const {
    return std::hash<std::string_view>{}(text);
  }
};

}  // namespace flint::sdk
