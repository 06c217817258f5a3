#include "request_builder.hpp"

#include <stdexcept>

#include <flint/sdk/json.hpp>

namespace flint::cli {

sdk::DeploymentLocation resolve_location(const std::optional<sdk::DeploymentLocation>& from_state,
                                         const std::optional<std::string>& name,
                                         const std::optional<std::string>& type) {
  sdk::DeploymentLocation location;
  if (from_state) location = *from_state;
  if (name) {
    if (name->empty()) throw std::invalid_argument("--location-name: must not be empty");
    location.name = *name;
  }
  if (type) location.type = *type;
  if (location.name.empty()) location.name = std::string(kDefaultLocationName);
  return location;
}

boost::json::object build_execute_request(std::string_view lifecycle_name,
                                          std::string_view driver_files, const ResourceState& state,
                                          const sdk::DeploymentLocation& location) {
  boost::json::object body;
  body["lifecycleName"] = lifecycle_name;
  body["driverFiles"] = driver_files;
  body["systemProperties"] = sdk::json::encode(state.system_properties);
  body["resourceProperties"] = sdk::json::encode(state.resource_properties);
  body["requestProperties"] = sdk::json::encode(state.request_properties);
  body["associatedTopology"] = sdk::json::encode(state.associated_topology);
  body["deploymentLocation"] = sdk::json::encode(location);
  return body;
}

boost::json::object build_find_request(std::string_view instance_name,
                                       std::string_view driver_files,
                                       const sdk::DeploymentLocation& location) {
  boost::json::object body;
  body["instanceName"] = instance_name;
  body["driverFiles"] = driver_files;
  body["deploymentLocation"] = sdk::json::encode(location);
  return body;
}

}  // namespace flint::cli
