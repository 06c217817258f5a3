#pragma once

/// @file
/// The resource drivers linked into the binary.

#include <flint/sdk/driver_plugin.hpp>

#include "config/host_config.hpp"

namespace flint::app {

/// Registers the built-in drivers (resource: `noop`, `script`;
/// infrastructure: `noop-infrastructure`, `netns`) with their
/// `drivers.<name>.*` settings, through the same registrar as libraries.
void register_builtin_drivers(sdk::DriverRegistrar& registrar, const config::HostConfig& config);

}  // namespace flint::app
