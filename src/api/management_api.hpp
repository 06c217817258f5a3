#pragma once

/// @file
/// The management API: `GET /management/health` and `GET /metrics`.

#include "health/health_registry.hpp"
#include "http/router.hpp"
#include "metrics/metrics_registry.hpp"

namespace flint::api {

/// Adds `GET /management/health`: 200 with every vital, or 503 when one is
/// `UNHEALTHY`. Answered on the network thread without touching drivers, so
/// it stays fast whatever the drivers do. `health` must outlive the router.
void add_health_route(http::Router& router, const health::HealthRegistry& health);

/// Adds `GET /metrics` in Prometheus text format. `metrics` must outlive the
/// router.
void add_metrics_route(http::Router& router, const metrics::MetricsRegistry& metrics);

}  // namespace flint::api
