#pragma once

/// @file
/// The infrastructure (VIM) driver contract (Ignition's
/// InfrastructureDriverCapability).
///
/// Call sequence of a create (a delete is the same):
///   1. `create_infrastructure` starts building and returns at once with an
///      infrastructure id and a request id;
///   2. the host polls `get_infrastructure_task` with both ids until the
///      status is terminal (`COMPLETE` or `FAILED`), then sends the task
///      event (`lm_vim_infrastructure_task_events`).
/// `find_infrastructure` is independent and synchronous. The API's `query`
/// calls `get_infrastructure_task` directly.
///
/// Errors (`errors.hpp`) and what monitoring does when a poll raises them:
/// `TemporaryDriverError`, `UnreachableDeploymentLocationError` -> poll again
/// later with back-off; `InfrastructureNotFoundError`,
/// `RequestNotFoundError` -> stop monitoring (no event; logged); anything else ->
/// a `FAILED` event with `INTERNAL_ERROR` and the message.

#include <string_view>

#include <flint/sdk/call_context.hpp>
#include <flint/sdk/driver.hpp>
#include <flint/sdk/infrastructure.hpp>

namespace flint::sdk {

/// An infrastructure driver: the code that talks to a VIM.
///
/// Thread-safety, blocking, instances and ownership: as `ResourceDriver`
/// (called concurrently from a bounded pool of driver threads, never from a
/// network thread; polls go to the location's current instance; destroyed
/// when the host no longer needs it, once its running calls have returned).
class InfrastructureDriver : public Driver {
 public:
  /// The finalizer; as `Driver::~Driver` (it may never run).
  ~InfrastructureDriver() override = default;

  /// Starts building the infrastructure described by the template and
  /// returns without waiting for it.
  /// @throws InvalidTemplateError (400, naming what is wrong),
  ///         UnreachableDeploymentLocationError, TemporaryDriverError,
  ///         InfrastructureError.
  virtual InfrastructureTaskAccepted create_infrastructure(
      const CreateInfrastructureRequest& request, CallContext& context) = 0;

  /// Reports the status of a create or delete task. Must be idempotent.
  /// @throws InfrastructureNotFoundError, RequestNotFoundError (monitoring
  ///         stops), UnreachableDeploymentLocationError, TemporaryDriverError
  ///         (monitoring retries), InfrastructureError.
  virtual InfrastructureTask get_infrastructure_task(std::string_view infrastructure_id,
                                                     std::string_view request_id,
                                                     const DeploymentLocation& location,
                                                     CallContext& context) = 0;

  /// Starts removing the infrastructure and returns without waiting.
  /// @throws InfrastructureNotFoundError, UnreachableDeploymentLocationError,
  ///         TemporaryDriverError, InfrastructureError.
  virtual InfrastructureTaskAccepted delete_infrastructure(std::string_view infrastructure_id,
                                                           const DeploymentLocation& location,
                                                           CallContext& context) = 0;

  /// Finds infrastructure built from such a template under `instance_name`.
  /// Not finding it is not an error: return a response without a result.
  /// @throws InvalidTemplateError, UnreachableDeploymentLocationError,
  ///         TemporaryDriverError, InfrastructureError.
  virtual FindInfrastructureResponse find_infrastructure(const FindInfrastructureRequest& request,
                                                         CallContext& context) = 0;
};

}  // namespace flint::sdk
