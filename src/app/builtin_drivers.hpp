#pragma once

/// @file
/// The resource drivers linked into the binary, by name.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <flint/sdk/resource_driver.hpp>

#include "config/host_config.hpp"

namespace flint::app {

/// Creates the built-in resource driver `name` from its `drivers.<name>.*`
/// settings.
/// @throws std::invalid_argument naming the driver when there is none by
///         that name.
std::unique_ptr<sdk::ResourceDriver> make_builtin_resource_driver(std::string_view name,
                                                                  const config::HostConfig& config);

}  // namespace flint::app
