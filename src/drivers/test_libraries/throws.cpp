// A library whose registration adds a driver, then throws: nothing of it may
// stay registered.
#include <stdexcept>

#include <flint/sdk/driver_plugin.hpp>

namespace {

void register_drivers(flint::sdk::DriverRegistrar& registrar) {
  registrar.add_resource_driver({.name = "half-registered", .version = "0.0.1"},
                                [](const flint::sdk::DriverInstanceContext&) {
                                  return std::unique_ptr<flint::sdk::ResourceDriver>();
                                });
  throw std::runtime_error("cannot read /etc/acme.conf");
}

}  // namespace

FLINT_DRIVER_PLUGIN(register_drivers)
