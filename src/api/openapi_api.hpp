#pragma once

/// @file
/// The APIs' own descriptions: `GET <base>/openapi.json` and the Swagger UI
/// under `<base>/ui/`, for the Resource Driver API (`/api/driver`) and the
/// Infrastructure API (`/api/infrastructure`).

#include <filesystem>
#include <string_view>

#include "http/router.hpp"

namespace flint::api {

/// Adds, for the API whose routes start with `base_path` (e.g.
/// `/api/infrastructure`, no trailing slash):
/// - `GET <base>/openapi.json`: `yaml_document` (an OpenAPI document in
///   YAML), converted to JSON once, here;
/// - `GET <base>/ui`: 301 to `<base>/ui/`;
/// - `GET <base>/ui/<file>`: the Swagger UI files (`index.html` for
///   `<base>/ui/`), with a `swagger-initializer.js` that loads
///   `<base>/openapi.json`.
///
/// `ui_dir` holds the swagger-ui-dist files; when empty, the installed or
/// build-tree copy is used, and when there is none the UI answers 404 saying
/// why. `yaml_document` is read during the call only.
/// @throws std::runtime_error if `yaml_document` is not valid YAML (for an
///         embedded document, a build defect).
void add_openapi_routes(http::Router& router, std::string_view base_path,
                        std::string_view yaml_document, const std::filesystem::path& ui_dir);

/// The Resource Driver API's description: `add_openapi_routes` with
/// `/api/driver` and the embedded `api/openapi/resource-driver.yaml`.
void add_openapi_routes(http::Router& router, const std::filesystem::path& ui_dir);

/// The Infrastructure API's description: `add_openapi_routes` with
/// `/api/infrastructure` and the embedded `api/openapi/infrastructure.yaml`.
void add_infrastructure_openapi_routes(http::Router& router, const std::filesystem::path& ui_dir);

}  // namespace flint::api
