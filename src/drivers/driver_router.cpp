#include "drivers/driver_router.hpp"

#include <algorithm>

#include <flint/sdk/errors.hpp>
#include <flint/sdk/json.hpp>

#include "config/config_error.hpp"

namespace flint::drivers {
namespace {

// A routing property: absent (or null) is empty; another type is refused
// rather than taken for absent, which would route to another driver.
std::string_view string_property(const sdk::DeploymentLocation& location, std::string_view name) {
  const auto* value = location.properties.if_contains(name);
  if (value == nullptr || value->is_null()) return {};
  if (!value->is_string()) {
    throw sdk::InvalidRequestError("deploymentLocation.properties." + std::string(name) +
                                   ": expected a string (it chooses the driver)");
  }
  return value->get_string();
}

}  // namespace

DriverRouter::DriverRouter(const DriverCatalog& catalog, sdk::DriverKind kind,
                           std::string config_section, DriverRoutes routes)
    : catalog_(catalog),
      kind_(kind),
      config_section_(std::move(config_section)),
      routes_(std::move(routes)) {
  const std::string kind_name(sdk::to_string(kind_));
  std::vector<std::string> errors;
  auto resolve = [&](const std::string& key, const std::string& name) -> const RegisteredDriver* {
    const auto* driver = catalog_.find(name);
    if (!driver) {
      std::string known;
      for (const auto& d : catalog_.drivers()) {
        if (d.kind == kind_) known += (known.empty() ? "" : ", ") + d.info.name;
      }
      errors.push_back(key + ": no " + kind_name + " driver named '" + name +
                       "' (registered: " + known + ")");
    } else if (driver->kind != kind_) {
      const auto article = [](std::string_view word) { return word.front() == 'i' ? "an " : "a "; };
      const std::string actual(sdk::to_string(driver->kind));
      errors.push_back(key + ": driver '" + name + "' is " + article(actual) + actual +
                       " driver, not " + article(kind_name) + kind_name + " driver");
      driver = nullptr;
    }
    return driver;
  };
  if (!routes_.default_driver.empty()) {
    default_ = resolve(config_section_ + ".driver", routes_.default_driver);
  }
  for (const auto& [type, name] : routes_.by_location_type) {
    if (const auto* driver = resolve(config_section_ + ".routes.location_type." + type, name)) {
      by_type_.emplace_back(type, driver);
    }
  }
  if (routes_.by_vendor_model) {
    // Two drivers claiming one vendor and model: which one serves such a
    // location would follow the libraries' file names.
    const auto& drivers = catalog_.drivers();
    for (auto a = drivers.begin(); a != drivers.end(); ++a) {
      if (a->kind != kind_ || a->info.vendor.empty()) continue;
      for (auto b = std::next(a); b != drivers.end(); ++b) {
        if (b->kind == kind_ && equal_ignoring_case(a->info.vendor, b->info.vendor) &&
            equal_ignoring_case(a->info.model, b->info.model)) {
          errors.push_back(
              config_section_ + ".routes.vendor_model: drivers '" + a->info.name + "' (" +
              a->origin + ") and '" + b->info.name + "' (" + b->origin +
              ") both register vendor '" + a->info.vendor + "' " +
              (a->info.model.empty() ? "for any model" : "model '" + a->info.model + "'") +
              ": remove one, or route such locations by type");
        }
      }
    }
  }
  if (!errors.empty()) throw config::ConfigError(std::move(errors));
}

const RegisteredDriver& DriverRouter::route(const sdk::DeploymentLocation& location) const {
  for (const auto& [type, driver] : by_type_) {
    if (type == location.type) return *driver;
  }
  if (routes_.by_vendor_model) {
    const auto vendor = string_property(location, "vendor");
    if (!vendor.empty()) {
      const auto model = string_property(location, "model");
      if (const auto* driver = catalog_.find_by_vendor_model(kind_, vendor, model)) return *driver;
      throw sdk::InvalidRequestError(
          "deploymentLocation.properties: no " + std::string(sdk::to_string(kind_)) +
          " driver is registered for vendor '" + sdk::json::printable(vendor) + "'" +
          (model.empty() ? "" : " model '" + sdk::json::printable(model) + "'"));
    }
  }
  if (default_) return *default_;
  throw sdk::InvalidRequestError("deploymentLocation: no " + std::string(sdk::to_string(kind_)) +
                                 " driver serves location '" + location.name + "' of type '" +
                                 location.type + "' (no route in " + config_section_ +
                                 ".routes matches and " + config_section_ + ".driver is empty)");
}

std::vector<std::string> DriverRouter::routed_drivers() const {
  std::vector<std::string> names;
  auto add = [&](const RegisteredDriver* driver) {
    if (driver && std::ranges::find(names, driver->info.name) == names.end()) {
      names.push_back(driver->info.name);
    }
  };
  add(default_);
  for (const auto& entry : by_type_) add(entry.second);
  if (routes_.by_vendor_model) {
    for (const auto& driver : catalog_.drivers()) {
      if (driver.kind == kind_ && !driver.info.vendor.empty()) add(&driver);
    }
  }
  return names;
}

}  // namespace flint::drivers
