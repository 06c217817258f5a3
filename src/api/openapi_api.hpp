#pragma once

/// @file
/// The API's own description: `GET /api/driver/openapi.json` and the Swagger
/// UI under `/api/driver/ui/`.

#include <filesystem>

#include "http/router.hpp"

namespace flint::api {

/// Adds the OpenAPI document (converted once, here, from the embedded YAML)
/// and the Swagger UI. `ui_dir` holds the swagger-ui-dist files; when empty,
/// the installed or build-tree copy is used, and when there is none the UI
/// answers 404 saying why.
/// @throws std::runtime_error if the embedded document is not valid YAML
///         (a build defect).
void add_openapi_routes(http::Router& router, const std::filesystem::path& ui_dir);

}  // namespace flint::api
