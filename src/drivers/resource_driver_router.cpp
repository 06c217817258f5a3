#include "drivers/resource_driver_router.hpp"

#include <algorithm>

#include <flint/sdk/errors.hpp>

#include "config/config_error.hpp"

namespace flint::drivers {
namespace {

std::string_view string_property(const sdk::DeploymentLocation& location, std::string_view name) {
  const auto* value = location.properties.if_contains(name);
  return value && value->is_string() ? std::string_view(value->get_string()) : std::string_view();
}

}  // namespace

ResourceDriverRouter::ResourceDriverRouter(const DriverCatalog& catalog, ResourceRoutes routes)
    : catalog_(catalog), routes_(std::move(routes)) {
  std::vector<std::string> errors;
  auto resolve = [&](const std::string& key, const std::string& name) -> const RegisteredDriver* {
    const auto* driver = catalog_.find(name);
    if (!driver) {
      std::string known;
      for (const auto& d : catalog_.drivers()) {
        if (d.kind == sdk::DriverKind::resource) known += (known.empty() ? "" : ", ") + d.info.name;
      }
      errors.push_back(key + ": no resource driver named '" + name + "' (registered: " + known +
                       ")");
    } else if (driver->kind != sdk::DriverKind::resource) {
      errors.push_back(key + ": driver '" + name + "' is a " +
                       std::string(sdk::to_string(driver->kind)) +
                       " driver, not a resource driver");
      driver = nullptr;
    }
    return driver;
  };
  if (!routes_.default_driver.empty()) {
    default_ = resolve("resource_driver.driver", routes_.default_driver);
  }
  for (const auto& [type, name] : routes_.by_location_type) {
    if (const auto* driver = resolve("resource_driver.routes.location_type." + type, name)) {
      by_type_.emplace_back(type, driver);
    }
  }
  if (!errors.empty()) throw config::ConfigError(std::move(errors));
}

const RegisteredDriver& ResourceDriverRouter::route(const sdk::DeploymentLocation& location) const {
  for (const auto& [type, driver] : by_type_) {
    if (type == location.type) return *driver;
  }
  if (routes_.by_vendor_model) {
    const auto vendor = string_property(location, "vendor");
    if (!vendor.empty()) {
      const auto model = string_property(location, "model");
      if (const auto* driver = catalog_.find_by_vendor_model(vendor, model)) return *driver;
      throw sdk::InvalidRequestError(
          "deploymentLocation.properties: no resource driver is registered for vendor '" +
          std::string(vendor) + "'" + (model.empty() ? "" : " model '" + std::string(model) + "'"));
    }
  }
  if (default_) return *default_;
  throw sdk::InvalidRequestError(
      "deploymentLocation: no resource driver serves location '" + location.name + "' of type '" +
      location.type +
      "' (no route in resource_driver.routes matches and resource_driver.driver is empty)");
}

std::vector<std::string> ResourceDriverRouter::routed_drivers() const {
  std::vector<std::string> names;
  auto add = [&](const RegisteredDriver* driver) {
    if (driver && std::ranges::find(names, driver->info.name) == names.end()) {
      names.push_back(driver->info.name);
    }
  };
  add(default_);
  for (const auto& entry : by_type_) add(entry.second);
  return names;
}

}  // namespace flint::drivers
