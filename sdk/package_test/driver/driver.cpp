// A resource driver compiled against the installed SDK only: it implements the
// contract, and main() checks the SDK's version macros and a codec link.
#include <cstdio>

#include <flint/sdk/ids.hpp>
#include <flint/sdk/json.hpp>
#include <flint/sdk/resource_driver.hpp>
#include <flint/sdk/version.hpp>

static_assert(FLINT_SDK_ABI_VERSION >= 1, "the SDK states its ABI version");

namespace {

class EchoDriver final : public flint::sdk::ResourceDriver {
 public:
  flint::sdk::LifecycleExecuteResponse execute_lifecycle(
      const flint::sdk::ExecuteLifecycleRequest& /*request*/,
      flint::sdk::CallContext& /*context*/) override {
    flint::sdk::LifecycleExecuteResponse response;
    response.request_id = flint::sdk::new_time_ordered_id();
    return response;
  }
  flint::sdk::LifecycleExecution get_lifecycle_execution(
      std::string_view request_id, const flint::sdk::DeploymentLocation& /*location*/,
      flint::sdk::CallContext& /*context*/) override {
    return flint::sdk::LifecycleExecution::complete(std::string(request_id));
  }
  flint::sdk::FindReferenceResponse find_reference(
      const flint::sdk::FindReferenceRequest& /*request*/,
      flint::sdk::CallContext& /*context*/) override {
    return {};
  }
};

}  // namespace

int main() {
  EchoDriver driver;
  const auto execution = flint::sdk::LifecycleExecution::complete("r-1");
  const boost::json::object encoded = flint::sdk::json::encode(execution);
  if (encoded.at("status") != "COMPLETE") return 1;
  std::printf("driver built against Flint SDK %s (ABI %d)\n", FLINT_SDK_VERSION_STRING,
              FLINT_SDK_ABI_VERSION);
  return 0;
}
