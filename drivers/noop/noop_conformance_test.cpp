// The noop driver against the SDK's resource driver conformance suite
// (flint/sdk/testing/conformance.hpp), configured two ways: completing after
// IN_PROGRESS polls, and failing after a transient poll error.

#include <chrono>
#include <memory>
#include <string>

#include <boost/json/object.hpp>

#include <flint/sdk/testing/conformance.hpp>

#include "noop/noop_driver.hpp"

namespace flint::drivers::noop {
namespace {

namespace bj = boost::json;
using sdk::Property;
using sdk::testing::ResourceDriverSubject;
using namespace std::chrono_literals;

constexpr const char* kMissingInstance = "web-missing";

// What both subjects share: a default NoopDriver, an Install request whose
// behaviour comes from `request_properties`, and find answers driven by the
// deployment location (noop finds `noop-<name>` unless `noop.find` is null).
ResourceDriverSubject noop_subject(std::string name, sdk::PropertyMap request_properties) {
  ResourceDriverSubject subject;
  subject.name = std::move(name);
  subject.make_driver = [] { return std::make_unique<NoopDriver>(); };
  subject.make_execute_request = [request_properties] {
    sdk::ExecuteLifecycleRequest request;
    request.lifecycle_name = "Install";
    request.system_properties = {{"resourceId", Property::string("res-1")},
                                 {"resourceName", Property::string("web-1")}};
    request.request_properties = request_properties;
    request.deployment_location = {"dl", "Test", {}};
    return request;
  };
  // noop accepts every lifecycle name: execute.unsupported-lifecycle is skipped.
  subject.make_find_request = [](const std::string& instance_name) {
    sdk::FindReferenceRequest request;
    request.deployment_location = {"dl", "Test", {}};
    if (instance_name == kMissingInstance) {
      request.deployment_location.properties["noop.find"] = nullptr;  // nothing is found
    }
    return request;
  };
  subject.existing_instance_name = "web-1";
  subject.missing_instance_name = kMissingInstance;
  subject.terminal_timeout = 10s;
  subject.poll_interval = 1ms;
  return subject;
}

ResourceDriverSubject completing_subject() {
  return noop_subject(
      "noop_complete",
      {{"noop.pollsInProgress", Property::integer(2)},
       {"noop.outputs", Property("map", bj::object{{"ip", "10.0.0.5"}})},
       {"noop.topology",
        Property("map", bj::object{{"vm", bj::object{{"id", "i-1"}, {"type", "Test"}}}})}});
}

ResourceDriverSubject failing_subject() {
  return noop_subject("noop_failed",
                      {{"noop.outcome", Property::string("FAILED")},
                       {"noop.failureCode", Property::string("INSUFFICIENT_CAPACITY")},
                       {"noop.pollsInProgress", Property::integer(1)},
                       {"noop.raiseOnPoll", Property::string("temporary")},
                       {"noop.raiseOnPollTimes", Property::integer(1)}});
}

FLINT_RESOURCE_DRIVER_CONFORMANCE(NoopComplete, completing_subject);
FLINT_RESOURCE_DRIVER_CONFORMANCE(NoopFailed, failing_subject);

}  // namespace
}  // namespace flint::drivers::noop
