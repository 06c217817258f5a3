// The SDK's conformance suite (Flint::sdk_testing) run against the driver: one
// test per rule of the resource driver contract, as the host relies on it.

#include <chrono>
#include <memory>

#include <flint/sdk/testing/conformance.hpp>

#include "template_driver.hpp"

namespace {

namespace sdk = flint::sdk;
using namespace std::chrono_literals;

// Describes the driver to the suite. Executions take 50ms, so that every rule
// sees them in progress and then complete without slowing the tests down.
sdk::testing::ResourceDriverSubject driver_subject() {
  sdk::testing::ResourceDriverSubject subject;
  subject.name = "template";
  subject.make_driver = [] { return std::make_unique<driver::TemplateDriver>(50ms); };
  subject.make_execute_request = [] {
    sdk::ExecuteLifecycleRequest request;
    request.lifecycle_name = "Create";
    request.deployment_location = {"lab", "Test", {}};
    return request;
  };
  // The driver refuses any lifecycle it does not know, and finds nothing.
  subject.unsupported_lifecycle_name = "Reboot";
  subject.missing_instance_name = "no-such-instance";
  subject.terminal_timeout = 5s;
  return subject;
}

}  // namespace

FLINT_RESOURCE_DRIVER_CONFORMANCE(Template, driver_subject);
