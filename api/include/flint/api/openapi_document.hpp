#pragma once

/// @file
/// The OpenAPI documents of Flint's REST APIs, embedded in the binary.

#include <string_view>

namespace flint::api {

/// The OpenAPI 3.0.3 document (`api/openapi/resource-driver.yaml`) as YAML
/// text, byte for byte as in the source tree when the binary was built.
///
/// The text lives in static storage for the whole life of the program: the
/// view never dangles. Thread-safe; never throws. Converting it to JSON (for
/// `/api/driver/openapi.json`) is the caller's job.
std::string_view openapi_yaml() noexcept;

/// The OpenAPI 3.0.3 document of the Infrastructure API
/// (`api/openapi/infrastructure.yaml`), served as
/// `/api/infrastructure/openapi.json`; same guarantees as `openapi_yaml()`.
std::string_view infrastructure_openapi_yaml() noexcept;

}  // namespace flint::api
