#pragma once

/// @file
/// The resource drivers linked into the binary.

#include <filesystem>

#include <flint/sdk/driver_plugin.hpp>

#include "config/host_config.hpp"

namespace flint::app {

/// Registers the built-in drivers (resource: `noop`, `script`;
/// infrastructure: `noop-infrastructure`, `netns`) with their
/// `drivers.<name>.*` settings, through the same registrar as libraries.
void register_builtin_drivers(sdk::DriverRegistrar& registrar, const config::HostConfig& config);

/// Where the `netns` driver keeps its state: `drivers.netns.state_dir`, by
/// default `<store.data_dir>/netns`.
std::filesystem::path netns_state_dir(const config::HostConfig& config);

/// Where the `script` driver runs its scripts: `drivers.script.executions_dir`,
/// by default `<store.data_dir>/script-executions`.
std::filesystem::path script_executions_dir(const config::HostConfig& config);

}  // namespace flint::app
