#pragma once

/// @file
/// Every driver the host knows, built in or loaded from a library, with its
/// description, origin, factory and checked settings.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <flint/sdk/driver_plugin.hpp>

#include "config/option_spec.hpp"

namespace flint::drivers {

/// One registered driver.
struct RegisteredDriver {
  /// The contract it serves.
  sdk::DriverKind kind = sdk::DriverKind::resource;
  /// What it says about itself.
  sdk::DriverInfo info;
  /// Makes instances of `kind`'s contract.
  sdk::DriverFactory factory;
  /// `built-in`, or the path of the library that registered it.
  std::string origin;
  /// Its settings, checked and normalised by `DriverCatalog::configure`.
  sdk::DriverSettings settings;
};

/// Equality without ASCII case, as vendor and model names are compared.
bool equal_ignoring_case(std::string_view a, std::string_view b) noexcept;

/// A driver library that could not be loaded (see plugin_loader.hpp).
struct LoadError {
  /// Path of the library (or of the folder, when the folder is unusable).
  std::string file;
  /// What went wrong, in one line.
  std::string message;
};

/// The drivers of this host, in registration order.
///
/// Filled at start (`add`, `configure`), then only read: reads are
/// thread-safe once serving begins; `add` and `configure` are not.
class DriverCatalog {
 public:
  /// Registers what `register_drivers` adds, all or nothing: a registration
  /// that throws or adds an invalid or taken name leaves the catalog as it was.
  /// @param origin `built-in` or the library's path, shown in listings.
  /// @throws std::invalid_argument with one line naming the driver and the problem.
  void add(std::string origin, const std::function<void(sdk::DriverRegistrar&)>& register_drivers);

  /// Applies `drivers.settings`: flat `<driver>.<setting>` keys, checked
  /// against each driver's declared settings (type, required) and normalised;
  /// defaults fill the rest.
  /// @throws config::ConfigError listing every problem, each naming its key
  ///         `drivers.settings.<driver>.<setting>`.
  void configure(const config::StringMap& settings);

  /// The driver named `name`, or null.
  const RegisteredDriver* find(std::string_view name) const noexcept;
  /// The driver of `kind` registered for `vendor` and `model` (compared
  /// without case): one registered for that exact model, else one for the
  /// vendor with an empty model; null when none.
  const RegisteredDriver* find_by_vendor_model(sdk::DriverKind kind, std::string_view vendor,
                                               std::string_view model) const noexcept;
  /// Every driver, in registration order.
  const std::vector<RegisteredDriver>& drivers() const noexcept { return drivers_; }

  /// Records a library that was skipped (`drivers.on_load_error: skip`).
  void add_load_error(LoadError error) { load_errors_.push_back(std::move(error)); }
  /// The libraries skipped at start.
  const std::vector<LoadError>& load_errors() const noexcept { return load_errors_; }

 private:
  std::vector<RegisteredDriver> drivers_;
  std::vector<LoadError> load_errors_;
};

}  // namespace flint::drivers
