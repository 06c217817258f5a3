#pragma once

/// @file
/// Metric series resolved once per label set and kept.

#include <algorithm>
#include <cstddef>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <fmt/format.h>

#include <flint/sdk/string_hash.hpp>

namespace flint::metrics {

/// Caches what a set of label values resolves to (series pointers, usually).
///
/// prometheus-cpp's `Family::Add` builds a label map, hashes it and takes the
/// family's mutex on every call: a hot path (each request, each driver call)
/// should pay that once per label set, not per event. Label values must come
/// from a small set (routes, driver and operation names, outcomes): entries
/// are never removed. Thread-safe; lookups of known keys share a lock.
template <class Value>
class SeriesCache {
 public:
  /// The value cached for the labels `parts`, or the one `create()` returns
  /// (called once per distinct key, under the exclusive lock).
  template <class Create, class... Parts>
  const Value& get(Create&& create, const Parts&... parts) {
    // Unit separators keep ("a b", "c") and ("a", "b c") apart.
    char buffer[256];
    const auto written =
        fmt::format_to_n(buffer, sizeof buffer, kFormat<sizeof...(Parts)>, parts...).size;
    const std::string_view key(buffer, std::min(written, sizeof buffer));
    {
      std::shared_lock lock(mutex_);
      if (auto it = values_.find(key); it != values_.end()) return it->second;
    }
    std::unique_lock lock(mutex_);
    if (auto it = values_.find(key); it != values_.end()) return it->second;
    return values_.emplace(std::string(key), create()).first->second;
  }

 private:
  template <std::size_t N>
  static constexpr auto kFormat = [] {
    if constexpr (N == 1) {
      return "{}";
    } else if constexpr (N == 2) {
      return "{}\x1f{}";
    } else {
      static_assert(N == 3, "up to three label values");
      return "{}\x1f{}\x1f{}";
    }
  }();

  std::shared_mutex mutex_;
  std::unordered_map<std::string, Value, sdk::StringHash, std::equal_to<>> values_;
};

}  // namespace flint::metrics
