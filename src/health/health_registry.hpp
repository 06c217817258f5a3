#pragma once

/// @file
/// Health as each component reports it (`GET /management/health`).

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

namespace flint::health {

/// A component's state. The host is unhealthy (503) when any vital is.
enum class HealthStatus {
  ok,         ///< `OK`: working normally.
  degraded,   ///< `DEGRADED`: working, under pressure or partly impaired.
  unhealthy,  ///< `UNHEALTHY`: not able to do its job.
};

/// Wire name of a status (`OK`, `DEGRADED`, `UNHEALTHY`).
std::string_view to_string(HealthStatus status) noexcept;

/// The vitals of every started component, checked on demand.
///
/// Checks run on the caller's thread each time health is read, so each must
/// be cheap and never block (read counters, not the network). Register all
/// checks before serving; `report` is then thread-safe.
class HealthRegistry {
 public:
  /// A component's check: adds the figures behind its status to `details`
  /// and returns the status.
  using Check = std::function<HealthStatus(boost::json::object& details)>;

  /// Adds the vital `name` (shown in order of registration).
  void add(std::string name, Check check);

  /// The whole report.
  struct Report {
    /// False when any vital is unhealthy.
    bool healthy = true;
    /// `{"vitals": {name: {"status": ..., details...}}}`, serialized.
    std::string body;
  };
  /// Runs every check. A check that throws reports its component unhealthy.
  Report report() const;

 private:
  std::vector<std::pair<std::string, Check>> checks_;
};

}  // namespace flint::health
