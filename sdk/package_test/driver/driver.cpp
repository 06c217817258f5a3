// A resource driver compiled against the installed SDK only: it implements the
// contract (echo_driver.hpp), and main() checks the SDK's version macros and a
// codec link.
#include <cstdio>

#include <flint/sdk/json.hpp>
#include <flint/sdk/version.hpp>

#include "echo_driver.hpp"

static_assert(FLINT_SDK_ABI_VERSION >= 1, "the SDK states its ABI version");

int main() {
  EchoDriver driver;
  const auto execution = flint::sdk::LifecycleExecution::complete("r-1");
  const boost::json::object encoded = flint::sdk::json::encode(execution);
  if (encoded.at("status") != "COMPLETE") return 1;
  std::printf("driver built against Flint SDK %s (ABI %d)\n", FLINT_SDK_VERSION_STRING,
              FLINT_SDK_ABI_VERSION);
  return 0;
}
