#pragma once

/// @file
/// The Resource Driver API (`/api/driver`), contract section 1.

#include "http/router.hpp"
#include "service/resource_driver_service.hpp"

namespace flint::api {

/// Adds `POST /api/driver/lifecycle/execute` (202) and
/// `POST /api/driver/references/find` (200). The service must outlive the
/// router.
void add_resource_driver_routes(http::Router& router, service::ResourceDriverService& service);

}  // namespace flint::api
