#pragma once

/// @file
/// Which driver of a kind serves a deployment location.

#include <string>
#include <vector>

#include <flint/sdk/deployment_location.hpp>

#include "config/option_spec.hpp"
#include "drivers/driver_catalog.hpp"

namespace flint::drivers {

/// The routing rules of one driver kind (`resource_driver.driver` and
/// `resource_driver.routes.*`; `infrastructure_driver.*` likewise).
struct DriverRoutes {
  /// Driver of locations no rule claims; empty = refuse them.
  std::string default_driver{};
  /// Location type -> driver name (exact match).
  config::StringMap by_location_type{};
  /// Route a location whose properties name a `vendor` (and `model`) to the
  /// driver registered for them.
  bool by_vendor_model = false;
};

/// Picks the driver of a request among the drivers of one kind: by location
/// type first, then by vendor and model, then the default. With no rules and
/// one default driver every request goes to it (Ignition's one driver per
/// host).
///
/// Immutable after construction; thread-safe. The catalog must outlive it.
class DriverRouter {
 public:
  /// Checks that every driver the rules name is a registered driver of
  /// `kind`. `config_section` (`resource_driver`) prefixes the keys named in
  /// errors.
  /// @throws config::ConfigError naming each bad key.
  DriverRouter(const DriverCatalog& catalog, sdk::DriverKind kind, std::string config_section,
               DriverRoutes routes);

  /// The driver serving `location`.
  /// @throws sdk::InvalidRequestError naming what was looked for when no
  ///         driver serves it.
  const RegisteredDriver& route(const sdk::DeploymentLocation& location) const;

  /// Names of the drivers the rules can pick, default first, without repeats.
  std::vector<std::string> routed_drivers() const;

  /// The rules.
  const DriverRoutes& routes() const noexcept { return routes_; }

 private:
  const DriverCatalog& catalog_;
  sdk::DriverKind kind_;
  std::string config_section_;
  DriverRoutes routes_;
  const RegisteredDriver* default_ = nullptr;
  std::vector<std::pair<std::string, const RegisteredDriver*>> by_type_;
};

}  // namespace flint::drivers
