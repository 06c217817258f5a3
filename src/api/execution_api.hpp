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
/// answers it 501. `monitor` must outlive the router.
void add_execution_routes(http::Router& router, service::LifecycleMonitor& monitor);

/// `after` of the listing: `<acceptedAt ms>.<requestId>`, as `next` gives it.
/// @throws ApiError 400 naming `after` when it is not one.
service::MonitoredPosition parse_listing_position(std::string_view text);

}  // namespace flint::api
