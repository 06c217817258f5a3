#pragma once

/// @file
/// The JSON bodies of the execute and find requests the CLI sends.

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include <flint/sdk/deployment_location.hpp>

#include "resource_state.hpp"

namespace flint::cli {

/// Deployment location name used when neither the resource state nor
/// `--location-name` gives one.
inline constexpr std::string_view kDefaultLocationName = "local";

/// The deployment location to send: the resource state's (if any), with
/// `name` and `type` replaced by the command-line values when given; the name
/// defaults to `local`.
/// @throws std::invalid_argument when `name` is given but empty.
sdk::DeploymentLocation resolve_location(const std::optional<sdk::DeploymentLocation>& from_state,
                                         const std::optional<std::string>& name,
                                         const std::optional<std::string>& type);

/// The `POST /api/driver/lifecycle/execute` body (contract section 1).
/// `state.system_properties` is sent as is: complete it first
/// (`complete_system_properties`). `driver_files` is already base64.
boost::json::object build_execute_request(std::string_view lifecycle_name,
                                          std::string_view driver_files, const ResourceState& state,
                                          const sdk::DeploymentLocation& location);

/// The `POST /api/driver/references/find` body.
boost::json::object build_find_request(std::string_view instance_name,
                                       std::string_view driver_files,
                                       const sdk::DeploymentLocation& location);

}  // namespace flint::cli
