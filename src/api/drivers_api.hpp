#pragma once

/// @file
/// `GET /api/drivers`: the drivers this host serves.

#include "drivers/driver_catalog.hpp"
#include "drivers/driver_manager.hpp"
#include "drivers/driver_router.hpp"
#include "http/router.hpp"

namespace flint::api {

/// Adds `GET /api/drivers`: every registered driver (kind, name, vendor,
/// model, version, description, origin, instance scope and count, settings
/// without secret values, breakers not closed), the libraries skipped at
/// start, and the routing of each driver API that is on: `routes` for the
/// Resource Driver API, `infrastructureRoutes` for the Infrastructure API
/// (null = that API is off). Answered on the network thread from in-memory
/// state: it never waits for a driver. Everything passed must outlive the
/// router.
void add_drivers_route(http::Router& router, const drivers::DriverCatalog& catalog,
                       const drivers::DriverManager& manager,
                       const drivers::DriverRouter* resource_routes,
                       const drivers::DriverRouter* infrastructure_routes);

/// The body of `GET /api/drivers`.
boost::json::object drivers_listing(const drivers::DriverCatalog& catalog,
                                    const drivers::DriverManager& manager,
                                    const drivers::DriverRouter* resource_routes,
                                    const drivers::DriverRouter* infrastructure_routes);

}  // namespace flint::api
