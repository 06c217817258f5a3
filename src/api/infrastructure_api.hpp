#pragma once

/// @file
/// The Infrastructure API (`/api/infrastructure`), contract section 2.

#include "http/router.hpp"
#include "service/infrastructure_service.hpp"

namespace flint::api {

/// Adds `POST /api/infrastructure/create` and `/delete` (202
/// `{"infrastructureId", "requestId"}`), `/query` (200, the task) and
/// `/find` (200, `{"result": ...}`). Same body checks, `tenantId` echo,
/// trace context and error mapping as the Resource Driver API. The service
/// must outlive the router.
void add_infrastructure_routes(http::Router& router, service::InfrastructureService& service);

}  // namespace flint::api
