#pragma once

/// @file
/// Metric series resolved once per label set and kept.

#include <charconv>
#include <cstddef>
#include <cstring>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

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
    Key key;
    (key.add(parts), ...);
    {
      std::shared_lock lock(mutex_);
      if (auto it = values_.find(key.view()); it != values_.end()) return it->second;
    }
    std::unique_lock lock(mutex_);
    if (auto it = values_.find(key.view()); it != values_.end()) return it->second;
    return values_.emplace(std::string(key.view()), create()).first->second;
  }

 private:
  // The label values joined by unit separators, which keep ("a b", "c") and
  // ("a", "b c") apart. On the stack unless long; never cut short.
  class Key {
   public:
    void add(std::string_view part) {
      if (parts_++ > 0) put("\x1f");
      put(part);
    }
    void add(unsigned number) {
      char digits[16];
      const auto end = std::to_chars(digits, digits + sizeof digits, number).ptr;
      add(std::string_view(digits, static_cast<std::size_t>(end - digits)));
    }
    std::string_view view() const noexcept {
      return spilled_.empty() ? std::string_view(buffer_, size_) : std::string_view(spilled_);
    }

   private:
    void put(std::string_view text) {
      if (spilled_.empty() && size_ + text.size() <= sizeof buffer_) {
        std::memcpy(buffer_ + size_, text.data(), text.size());
        size_ += text.size();
        return;
      }
      if (spilled_.empty()) spilled_.assign(buffer_, size_);
      spilled_.append(text);
    }
    char buffer_[256];
    std::size_t size_ = 0;
    std::size_t parts_ = 0;
    std::string spilled_;
  };

  std::shared_mutex mutex_;
  std::unordered_map<std::string, Value, sdk::StringHash, std::equal_to<>> values_;
};

}  // namespace flint::metrics
