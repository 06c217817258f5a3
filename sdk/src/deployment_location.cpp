#include <flint/sdk/deployment_location.hpp>

#include "redaction.hpp"

namespace flint::sdk {

boost::json::object DeploymentLocation::redacted() const {
  boost::json::object out;
  out.reserve(3);
  out["name"] = name;
  out["type"] = type;
  boost::json::object props;
  props.reserve(properties.size());
  for (const auto& field : properties) {
    props[field.key()] = detail::redact_named(field.key(), field.value());
  }
  out["properties"] = std::move(props);
  return out;
}

}  // namespace flint::sdk
