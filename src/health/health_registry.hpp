#pragma once

/// @file
/// Health as each component reports it (`GET /management/health`).

#include <concepts>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/json/fwd.hpp>

namespace flint::health {

/// A component's state. The host is unhealthy (503) when any vital is.
/// The values are those of the `flint_health_status` metric.
enum class HealthStatus {
  ok = 0,         ///< `OK`: working normally.
  degraded = 1,   ///< `DEGRADED`: working, under pressure or partly impaired.
  unhealthy = 2,  ///< `UNHEALTHY`: not able to do its job.
};

/// Wire name of a status (`OK`, `DEGRADED`, `UNHEALTHY`).
std::string_view to_string(HealthStatus status) noexcept;

/// The figures one component reports beside its status, written straight
/// into the health document: health is polled often, and building a JSON tree
/// per report cost more than the checks themselves.
///
/// Each key is set at most once per report. Not thread-safe; lives for one
/// check call.
class HealthDetails {
 public:
  /// Adds `"key": "value"` (escaped).
  void set(std::string_view key, std::string_view value);
  /// Adds `"key": "value"`; without this overload a literal would become a bool.
  void set(std::string_view key, const char* value) { set(key, std::string_view(value)); }
  /// Adds `"key": "value"`.
  void set(std::string_view key, const std::string& value) { set(key, std::string_view(value)); }
  /// Adds `"key": true|false`.
  void set(std::string_view key, bool value);
  /// Adds `"key": number`.
  template <std::integral Integer>
  requires(!std::same_as<Integer, bool>) void set(std::string_view key, Integer value) {
    if constexpr (std::is_signed_v<Integer>) {
      set_number(key, static_cast<long long>(value));
    } else {
      set_number(key, static_cast<unsigned long long>(value));
    }
  }
  /// Adds `"key": value` for structured figures (lists of skipped items...).
  void set(std::string_view key, const boost::json::value& value);

 private:
  friend class HealthRegistry;
  explicit HealthDetails(std::string& out) : out_(out) {}
  void set_number(std::string_view key, long long value);
  void set_number(std::string_view key, unsigned long long value);
  void begin(std::string_view key);

  std::string& out_;
};

/// The vitals of every started component, checked on demand.
///
/// Checks run on the caller's thread each time health is read, so each must
/// be cheap and never block (read counters, not the network). Register all
/// checks before serving; `report` is then thread-safe.
class HealthRegistry {
 public:
  /// A component's check: adds the figures behind its status to `details`
  /// and returns the status. A check that throws reports `UNHEALTHY` with
  /// the exception's message as `error`.
  using Check = std::function<HealthStatus(HealthDetails& details)>;

  /// Adds the vital `name` (shown in order of registration).
  void add(std::string name, Check check);

  /// The whole report.
  struct Report {
    bool healthy = true;  ///< false when any vital is `UNHEALTHY`
    std::string body;     ///< `{"vitals": {name: {"status": ..., details...}}}`
  };
  /// Runs every check, in order of registration.
  Report report() const;

  /// Each vital's status alone, in order of registration (for metrics).
  std::vector<std::pair<std::string, HealthStatus>> statuses() const;

 private:
  // Runs `check`, its details into `details`; a throwing check is UNHEALTHY
  // with the exception's message as `error`.
  static HealthStatus run(const Check& check, std::string& details);

  std::vector<std::pair<std::string, Check>> checks_;
};

}  // namespace flint::health
