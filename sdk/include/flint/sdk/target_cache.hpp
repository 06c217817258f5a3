#pragma once

/// @file
/// A cache for driver code: values bound to a target (a connection, a
/// session, a client), created on first use, expired, finalized.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <flint/sdk/string_hash.hpp>

namespace flint::sdk {

/// Values bound to a target, keyed by a string the driver chooses (say the
/// deployment location's name plus a hash of its credentials, so that new
/// credentials make a new value).
///
/// `get_or_create` returns the cached value, or runs `create` to make one;
/// concurrent callers for the same missing key wait for that one creator
/// (a per-key lock) and share its value, or its exception. A value expires
/// `expire_after_create` after it was made and `expire_after_access` after
/// it was last handed out (zero: never); an expired value is replaced at the
/// next `get_or_create` and dropped by `evict_expired`. A value invalidated
/// while it is being created goes to its creator and waiters, and is not
/// kept. The finalizer (close
/// the connection, log out) runs once per value, after it left the cache
/// (expired, invalidated, evicted, or the cache destroyed) and the last
/// caller holding it let go, on the thread that let go.
///
/// Thread-safe. `create` and the finalizer run without the cache's lock held
/// and must not throw from the finalizer. `create` must not call
/// `get_or_create` for its own key: it would wait for itself for ever.
/// Values are handed out as `std::shared_ptr<Value>`: holding one keeps the
/// value alive, not cached.
template <class Value>
class TargetCache {
 public:
  /// The clock the cache reads by default; tests replace `Options::now`.
  using Clock = std::chrono::steady_clock;

  /// Expiry and capacity.
  struct Options {
    /// A value is replaced this long after it was created (0: never).
    std::chrono::milliseconds expire_after_create{0};
    /// A value is dropped this long after it was last handed out (0: never).
    std::chrono::milliseconds expire_after_access{0};
    /// Values kept at most; the least recently used goes first (0: unbounded).
    std::size_t max_entries = 0;
    /// The time source; tests pass a fake. Empty: `Clock::now`. (No lambda
    /// default here: g++ 12 crashes on this aggregate brace-initialized in
    /// a default member initializer, the way a driver declares its cache.)
    std::function<Clock::time_point()> now{};
  };

  /// Called once for every value that leaves the cache, with its key.
  using Finalizer = std::function<void(const std::string& key, Value& value)>;

  /// An empty cache.
  explicit TargetCache(Options options, Finalizer finalizer = {})
      : options_(std::move(options)), finalizer_(std::move(finalizer)) {}
  /// Drops every value (each is finalized once its last holder lets go).
  ~TargetCache() { clear(); }
  /// Not copyable, nor movable.
  TargetCache(const TargetCache&) = delete;
  /// Not copyable, nor movable.
  TargetCache& operator=(const TargetCache&) = delete;

  /// The live value for `key`, or the one `create()` makes (a `Value`, or
  /// anything convertible to it).
  /// @throws what `create` threw (to every caller that waited for it); the
  ///         key stays absent, so the next call tries again.
  template <class Create>
  std::shared_ptr<Value> get_or_create(std::string_view key, Create&& create) {
    std::shared_ptr<Slot> slot;
    std::vector<std::shared_ptr<Value>> dropped;  // finalized after the lock
    {
      std::unique_lock lock(mutex_);
      const auto now = clock_now();
      if (auto it = slots_.find(key); it != slots_.end()) {
        slot = it->second;
        if (slot->creating) {
          ready_.wait(lock, [&] { return !slot->creating; });
          if (slot->error) std::rethrow_exception(slot->error);
          slot->last_access = clock_now();
          return slot->value;
        }
        if (!expired(*slot, now)) {
          slot->last_access = now;
          return slot->value;
        }
        dropped.push_back(slot->value);
        slots_.erase(it);
      }
      slot = std::make_shared<Slot>();
      slot->creating = true;
      slots_.emplace(std::string(key), slot);
    }
    dropped.clear();

    std::shared_ptr<Value> value;
    std::exception_ptr error;
    try {
      value = wrap(std::string(key), Value(create()));
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard lock(mutex_);
      slot->creating = false;
      slot->value = value;
      slot->error = error;
      slot->created = slot->last_access = clock_now();
      if (error || slot->invalidated) {
        if (auto it = slots_.find(key); it != slots_.end() && it->second == slot) slots_.erase(it);
      } else {
        dropped = trim_locked();
      }
    }
    ready_.notify_all();
    dropped.clear();
    if (error) std::rethrow_exception(error);
    return value;
  }

  /// Drops the value of `key`, if any (say, after the target refused it);
  /// one being created is handed to its callers and not kept.
  void invalidate(std::string_view key) {
    std::shared_ptr<Value> dropped;
    {
      std::lock_guard lock(mutex_);
      auto it = slots_.find(key);
      if (it == slots_.end()) return;
      if (it->second->creating) {
        it->second->invalidated = true;  // its creator erases it
        return;
      }
      dropped = it->second->value;
      slots_.erase(it);
    }
  }

  /// Whether `key` has a value, or one being created (expired ones count
  /// until dropped).
  bool contains(std::string_view key) const {
    std::lock_guard lock(mutex_);
    return slots_.find(key) != slots_.end();
  }

  /// Drops every expired value; returns how many. Hosts call it now and then
  /// so that idle values are closed without waiting for a lookup.
  std::size_t evict_expired() {
    std::vector<std::shared_ptr<Value>> dropped;
    {
      std::lock_guard lock(mutex_);
      const auto now = clock_now();
      for (auto it = slots_.begin(); it != slots_.end();) {
        if (!it->second->creating && expired(*it->second, now)) {
          dropped.push_back(it->second->value);
          it = slots_.erase(it);
        } else {
          ++it;
        }
      }
    }
    return dropped.size();
  }

  /// Drops every value.
  void clear() {
    std::vector<std::shared_ptr<Value>> dropped;
    {
      std::lock_guard lock(mutex_);
      for (auto it = slots_.begin(); it != slots_.end();) {
        if (it->second->creating) {
          ++it;  // its creator finishes it; a cache being destroyed has none left
          continue;
        }
        dropped.push_back(it->second->value);
        it = slots_.erase(it);
      }
    }
  }

  /// Values cached (live or expired but not yet dropped), creations included.
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return slots_.size();
  }

 private:
  Clock::time_point clock_now() const { return options_.now ? options_.now() : Clock::now(); }

  struct Slot {
    // Copied, never moved, out of a slot that leaves the cache: a caller that
    // waited for its creation may read it after it was evicted.
    std::shared_ptr<Value> value;
    std::exception_ptr error;
    bool creating = false;
    bool invalidated = false;  // while creating: not to be kept
    Clock::time_point created{};
    Clock::time_point last_access{};
  };

  bool expired(const Slot& slot, Clock::time_point now) const {
    const auto& o = options_;
    return (o.expire_after_create.count() > 0 && now - slot.created >= o.expire_after_create) ||
           (o.expire_after_access.count() > 0 && now - slot.last_access >= o.expire_after_access);
  }

  // The value, finalized when its last holder (the cache or a caller) lets go.
  std::shared_ptr<Value> wrap(std::string key, Value value) {
    auto finalizer = finalizer_;
    return std::shared_ptr<Value>(new Value(std::move(value)),
                                  [key = std::move(key), finalizer](Value* doomed) {
                                    if (finalizer) finalizer(key, *doomed);
                                    delete doomed;
                                  });
  }

  // Over capacity: the least recently used values go. Caller holds `mutex_`.
  std::vector<std::shared_ptr<Value>> trim_locked() {
    std::vector<std::shared_ptr<Value>> dropped;
    while (options_.max_entries > 0 && slots_.size() > options_.max_entries) {
      auto oldest = slots_.end();
      for (auto it = slots_.begin(); it != slots_.end(); ++it) {
        if (it->second->creating) continue;
        if (oldest == slots_.end() || it->second->last_access < oldest->second->last_access) {
          oldest = it;
        }
      }
      if (oldest == slots_.end()) break;
      dropped.push_back(oldest->second->value);
      slots_.erase(oldest);
    }
    return dropped;
  }

  Options options_;
  Finalizer finalizer_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::unordered_map<std::string, std::shared_ptr<Slot>, StringHash, std::equal_to<>> slots_;
};

}  // namespace flint::sdk
