#pragma once

/// @file
/// Decoding of the Infrastructure API request bodies (contract section 2).

#include <boost/json/value.hpp>

#include "service/infrastructure_service.hpp"

namespace flint::api {

/// Decodes a create body: `template` and `templateType` (non-empty strings),
/// `systemProperties` (property map), `properties` (optional property map,
/// absent or `null` = `{}`), `deploymentLocation`. Unknown fields are
/// ignored (orchestrators add fields over time).
/// @throws sdk::InvalidRequestError naming the field path and the problem.
service::CreateInfrastructureCommand decode_create_infrastructure_request(
    const boost::json::value& body);

/// Decodes a delete body: `infrastructureId`, `deploymentLocation`.
/// @throws sdk::InvalidRequestError naming the field path and the problem.
service::DeleteInfrastructureCommand decode_delete_infrastructure_request(
    const boost::json::value& body);

/// Decodes a query body: `infrastructureId`, `requestId`,
/// `deploymentLocation`.
/// @throws sdk::InvalidRequestError naming the field path and the problem.
service::QueryInfrastructureCommand decode_query_infrastructure_request(
    const boost::json::value& body);

/// Decodes a find body: `template`, `templateType`, `instanceName`,
/// `deploymentLocation`.
/// @throws sdk::InvalidRequestError naming the field path and the problem.
service::FindInfrastructureCommand decode_find_infrastructure_request(
    const boost::json::value& body);

}  // namespace flint::api
