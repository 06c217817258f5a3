#pragma once

/// @file
/// The built-in `noop` infrastructure driver: builds nothing; every outcome
/// is scripted by `noop.*` properties, for tests, benchmarks and demos of
/// the Infrastructure API.

#include <memory>
#include <string>

#include <flint/sdk/infrastructure_driver.hpp>

namespace flint::drivers::noop {

/// An infrastructure driver that talks to no VIM.
///
/// Settings are read from the create request's `properties`, then from the
/// deployment location's properties (for delete and find, which carry no
/// properties, only the latter): `noop.outcome` (`COMPLETE`/`FAILED`),
/// `noop.failureCode`, `noop.failureDescription`, `noop.pollsInProgress`,
/// `noop.raise` (the operation raises this error kind), `noop.raiseOnPoll`
/// with `noop.raiseOnPollTimes`, `noop.outputs` (a map: the task's outputs).
/// A create registers the infrastructure under the instance name
/// (`systemProperties.resourceName`) so that `find_infrastructure` returns
/// it until it is deleted. State is in memory only. Thread-safe.
class NoopInfrastructureDriver final : public sdk::InfrastructureDriver {
 public:
  NoopInfrastructureDriver();
  ~NoopInfrastructureDriver() override;

  sdk::InfrastructureTaskAccepted create_infrastructure(
      const sdk::CreateInfrastructureRequest& request, sdk::CallContext& context) override;
  sdk::InfrastructureTask get_infrastructure_task(std::string_view infrastructure_id,
                                                  std::string_view request_id,
                                                  const sdk::DeploymentLocation& location,
                                                  sdk::CallContext& context) override;
  sdk::InfrastructureTaskAccepted delete_infrastructure(std::string_view infrastructure_id,
                                                        const sdk::DeploymentLocation& location,
                                                        sdk::CallContext& context) override;
  sdk::FindInfrastructureResponse find_infrastructure(const sdk::FindInfrastructureRequest& request,
                                                      sdk::CallContext& context) override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace flint::drivers::noop
