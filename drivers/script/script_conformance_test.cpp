// The script driver against the SDK's resource driver conformance suite
// (flint/sdk/testing/conformance.hpp), running the example package of
// testdata/example: its Create completes (or fails without a resourceName),
// its Find finds names starting with "example-".

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include <flint/sdk/testing/conformance.hpp>

#include "script/script_driver.hpp"
#include "script/test_support.hpp"

namespace flint::drivers::script {
namespace {

namespace fs = std::filesystem;
using sdk::Property;
using sdk::testing::ResourceDriverSubject;
using namespace std::chrono_literals;

// One scratch directory for the program; each driver instance gets an
// executions directory of its own in it.
const fs::path& scratch() {
  static const script::testing::TempDir directory;
  return directory.path();
}

ResourceDriverSubject script_subject(std::string name, sdk::PropertyMap system_properties) {
  ResourceDriverSubject subject;
  subject.name = std::move(name);
  subject.make_driver = [] {
    static std::atomic<int> instances{0};
    Options options;
    options.executions_dir = scratch() / ("executions-" + std::to_string(++instances));
    options.kill_grace = 200ms;
    return std::make_unique<ScriptDriver>(options);
  };
  subject.make_execute_request = [system_properties] {
    sdk::ExecuteLifecycleRequest request;
    request.lifecycle_name = "Create";
    request.driver_files = sdk::DirectoryTree(fs::path(FLINT_SCRIPT_TESTDATA) / "example");
    request.system_properties = system_properties;
    request.resource_properties = {{"flavor", Property::string("m1.small")}};
    request.deployment_location = {"dl", "Test", {}};
    return request;
  };
  subject.unsupported_lifecycle_name = "Reboot";  // the package has Create and Delete only
  subject.existing_instance_name = "example-web";
  subject.missing_instance_name = "other-web";
  subject.terminal_timeout = 20s;
  subject.poll_interval = 10ms;
  return subject;
}

ResourceDriverSubject completing_subject() {
  return script_subject("script_complete", {{"resourceId", Property::string("res-1")},
                                            {"resourceName", Property::string("vm one")}});
}

// Without resourceName, Create.sh exits 1 with failure code RESOURCE_NOT_FOUND.
ResourceDriverSubject failing_subject() {
  return script_subject("script_failed", {{"resourceId", Property::string("res-1")}});
}

FLINT_RESOURCE_DRIVER_CONFORMANCE(ScriptComplete, completing_subject);
FLINT_RESOURCE_DRIVER_CONFORMANCE(ScriptFailed, failing_subject);

}  // namespace
}  // namespace flint::drivers::script
