#pragma once

/// @file
/// The deployment location: where a resource lives (a cloud, a cluster, a
/// device) and how to reach it.

#include <string>

#include <boost/json/object.hpp>

namespace flint::sdk {

/// A deployment location as the orchestrator sends it.
///
/// `properties` usually hold endpoints and credentials: treat them as
/// secrets. Use `redacted()` for anything that is logged. A value-type.
struct DeploymentLocation {
  /// Name of the location (required, non-empty).
  std::string name;
  /// Type of the location, e.g. `Openstack`, `Kubernetes` (may be empty).
  std::string type;
  /// Free-form connection properties.
  boost::json::object properties;

  /// A JSON view safe for logs: values of secret-looking names (password,
  /// token, key...) at any depth, and any string holding a PEM `PRIVATE
  /// KEY-----` or `PRIVATE KEY BLOCK-----` header, are replaced by `****`.
  boost::json::object redacted() const;

  /// Field-by-field equality.
  bool operator==(const DeploymentLocation&) const = default;
};

}  // namespace flint::sdk
