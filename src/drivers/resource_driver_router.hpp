#pragma once

/// @file
/// Which resource driver serves a deployment location.

#include <string>
#include <vector>

#include <flint/sdk/deployment_location.hpp>

#include "config/option_spec.hpp"
#include "drivers/driver_catalog.hpp"

namespace flint::drivers {

/// The routing rules (`resource_driver.driver` and `resource_driver.routes.*`).
struct ResourceRoutes {
  /// Driver of locations no rule claims; empty = refuse them.
  std::string default_driver{};
  /// Location type -> driver name (exact match).
  config::StringMap by_location_type{};
  /// Route a location whose properties name a `vendor` (and `model`) to the
  /// driver registered for them.
  bool by_vendor_model = false;
};

/// Picks the resource driver of a request: by location type first, then by
/// vendor and model, then the default. With no rules and one default driver
/// every request goes to it (Ignition's one driver per host).
///
/// Immutable after construction; thread-safe. The catalog must outlive it.
class ResourceDriverRouter {
 public:
  /// Checks that every driver the rules name is a registered resource driver.
  /// @throws config::ConfigError naming each bad key.
  ResourceDriverRouter(const DriverCatalog& catalog, ResourceRoutes routes);

  /// The driver serving `location`.
  /// @throws sdk::InvalidRequestError naming what was looked for when no
  ///         driver serves it.
  const RegisteredDriver& route(const sdk::DeploymentLocation& location) const;

  /// Names of the drivers the rules can pick, default first, without repeats.
  std::vector<std::string> routed_drivers() const;

  /// The rules.
  const ResourceRoutes& routes() const noexcept { return routes_; }

 private:
  const DriverCatalog& catalog_;
  ResourceRoutes routes_;
  const RegisteredDriver* default_ = nullptr;
  std::vector<std::pair<std::string, const RegisteredDriver*>> by_type_;
};

}  // namespace flint::drivers
