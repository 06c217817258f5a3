#pragma once

/// @file
/// Flint's extension to the Resource Driver API: the durable record of an
/// execution, `GET /api/driver/lifecycle/executions/{requestId}`, and the
/// records of those this node monitors, `GET /api/driver/lifecycle/executions`.

#include "http/router.hpp"
#include "service/lifecycle_monitor.hpp"

namespace flint::api {

/// Adds the execution status routes. Unknown ids answer the contract's
/// request-not-found error (400). The listing pages with `limit` (1 to 500,
/// default 100) and `after` (the `next` of the page before); a cluster node
/// lists the executions it holds. `monitor` must outlive the router.
void add_execution_routes(http::Router& router, service::LifecycleMonitor& monitor);

}  // namespace flint::api
