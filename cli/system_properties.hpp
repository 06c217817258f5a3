#pragma once

/// @file
/// The system properties `flint exec` generates when the resource state lacks
/// them, as a Lifecycle Manager would send them.

#include <functional>
#include <string>
#include <string_view>

#include <flint/sdk/property_map.hpp>

namespace flint::cli {

/// `resourceManagerId` the CLI sends.
inline constexpr std::string_view kCliResourceManagerId = "flint-cli";
/// `resourceType` the CLI sends.
inline constexpr std::string_view kCliResourceType = "resource::flint-cli::1.0";

/// A random (version 4) UUID in canonical lower-case form. Thread-safe.
std::string random_uuid();

/// Adds the well-known system properties that `properties` lacks, as `string`
/// entries, and leaves every existing entry untouched:
/// `resourceId` (a UUID), `resourceName` (`flint-cli-` + the first 8
/// characters of the resource id), `requestId` (a UUID), `metricKey` (a UUID),
/// `resourceManagerId` (`flint-cli`), `deploymentLocation` (`location_name`)
/// and `resourceType` (`resource::flint-cli::1.0`).
///
/// `new_uuid` supplies the UUIDs (tests pass a deterministic one).
void complete_system_properties(sdk::PropertyMap& properties, std::string_view location_name,
                                const std::function<std::string()>& new_uuid = random_uuid);

}  // namespace flint::cli
