// The installed conformance suite (Flint::sdk_testing) run against EchoDriver,
// as an out-of-tree driver project would run it.
#include <memory>

#include <flint/sdk/testing/conformance.hpp>

#include "echo_driver.hpp"

namespace {

flint::sdk::testing::ResourceDriverSubject echo_subject() {
  flint::sdk::testing::ResourceDriverSubject subject;
  subject.name = "echo";
  subject.make_driver = [] { return std::make_unique<EchoDriver>(); };
  subject.make_execute_request = [] {
    flint::sdk::ExecuteLifecycleRequest request;
    request.lifecycle_name = "Create";
    request.deployment_location = {"lab", "Test", {}};
    return request;
  };
  // EchoDriver accepts every lifecycle name and finds nothing.
  subject.missing_instance_name = "no-such-instance";
  return subject;
}

}  // namespace

FLINT_RESOURCE_DRIVER_CONFORMANCE(Echo, echo_subject);
