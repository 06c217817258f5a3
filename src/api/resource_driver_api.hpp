#pragma once

/// @file
/// The Resource Driver API (`/api/driver`), contract section 1.

#include "cluster/request_queue.hpp"
#include "http/router.hpp"
#include "service/resource_driver_service.hpp"

namespace flint::api {

/// Adds `POST /api/driver/lifecycle/execute` (202) and
/// `POST /api/driver/references/find` (200). With a `queue`, an execute
/// request that decodes and routes is put on the request queue and answered
/// with the id it will run under. The service and the queue must outlive the
/// router.
void add_resource_driver_routes(http::Router& router, service::ResourceDriverService& service,
                                cluster::RequestQueue* queue = nullptr);

}  // namespace flint::api
