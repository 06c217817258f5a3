#pragma once

/// @file
/// The resource-state file of `flint exec`: the properties, topology and
/// deployment location of one request, written in YAML (as Ignition's
/// `testdrive` reads them). Format: docs/cli.md.

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string_view>

#include <boost/json/value.hpp>

#include <flint/sdk/deployment_location.hpp>
#include <flint/sdk/property_map.hpp>
#include <flint/sdk/topology.hpp>

namespace YAML {
class Node;
}

namespace flint::cli {

/// A resource-state file is unreadable or malformed. `what()` names the file,
/// the field path and the problem, e.g.
/// `state.yaml: resourceProperties.replicas.value: expected an integer, got "three"`.
class ResourceStateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// What a resource-state file describes. Every part is optional in the file
/// and empty here when absent. A value-type.
struct ResourceState {
  /// `systemProperties` (the CLI generates the well-known ones it lacks).
  sdk::PropertyMap system_properties;
  /// `resourceProperties`.
  sdk::PropertyMap resource_properties;
  /// `requestProperties`.
  sdk::PropertyMap request_properties;
  /// `associatedTopology` (input form: every entry has an id and a type).
  sdk::AssociatedTopology associated_topology;
  /// `deploymentLocation`, when the file has one.
  std::optional<sdk::DeploymentLocation> deployment_location;
};

/// Parses the YAML text of a resource-state file; `source` names it in
/// messages. An empty document is an empty state.
/// @throws ResourceStateError on invalid YAML, an unknown top-level key, or
///   a property, topology entry or location of the wrong shape.
ResourceState parse_resource_state(std::string_view yaml, std::string_view source);

/// Reads and parses the file at `path`.
/// @throws ResourceStateError when it cannot be read or parsed.
ResourceState load_resource_state(const std::filesystem::path& path);

/// Converts YAML to JSON with YAML 1.2 core-schema typing of plain scalars:
/// `null`/`~`/empty -> null, `true`/`false` -> boolean, decimal integers ->
/// integer, decimal reals -> float; quoted scalars and everything else are
/// strings. `path` names the node in messages.
/// @throws ResourceStateError for values JSON cannot hold (`.inf`, `.nan`,
///   integers beyond 64 bits, non-scalar or duplicate mapping keys).
boost::json::value yaml_to_json(const YAML::Node& node, std::string_view path);

}  // namespace flint::cli
