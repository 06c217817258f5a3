// Registers a driver named `acme`, which the good test library also registers.
#include <flint/sdk/driver_plugin.hpp>

namespace {

void register_drivers(flint::sdk::DriverRegistrar& registrar) {
  registrar.add_resource_driver({.name = "acme", .version = "0.0.1"},
                                [](const flint::sdk::DriverInstanceContext&) {
                                  return std::unique_ptr<flint::sdk::ResourceDriver>();
                                });
}

}  // namespace

FLINT_DRIVER_PLUGIN(register_drivers)
