// The library's entry point: registers the driver with the host that loads it.

#include <memory>

#include <flint/sdk/driver_plugin.hpp>

#include "template_driver.hpp"

namespace {

/// Adds the library's drivers; the host calls it once, after checking the ABI version.
void register_drivers(flint::sdk::DriverRegistrar& registrar) {
  // One book for every instance: an instance may be replaced while its
  // executions run (see ExecutionBook).
  registrar.add_resource_driver(driver::TemplateDriver::info(),
                                [book = std::make_shared<driver::ExecutionBook>()](
                                    const flint::sdk::DriverInstanceContext& context) {
                                  return driver::TemplateDriver::make(context, book);
                                });
}

}  // namespace

/// The entry point the host looks up in the library: `flint_driver_plugin`.
FLINT_DRIVER_PLUGIN(register_drivers)
