#pragma once

/// @file
/// Flint's extension to the Resource Driver API: the durable record of an
/// execution, `GET /api/driver/lifecycle/executions/{requestId}`.

#include "http/router.hpp"
#include "service/lifecycle_monitor.hpp"

namespace flint::api {

/// Adds the execution status route. Unknown ids answer the contract's
/// request-not-found error (400). `monitor` must outlive the router.
void add_execution_routes(http::Router& router, service::LifecycleMonitor& monitor);

}  // namespace flint::api
