// A library built for another driver ABI: its entry point says 999.
#include <flint/sdk/driver_plugin.hpp>

extern "C" __attribute__((visibility("default"))) const flint::sdk::DriverPlugin*
flint_driver_plugin() {
  static const flint::sdk::DriverPlugin plugin{999, "9.9.9", nullptr};
  return &plugin;
}
