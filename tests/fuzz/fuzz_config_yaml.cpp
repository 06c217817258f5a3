// libFuzzer target: bytes as the host's YAML configuration file, loaded
// through the host's schema (every option, validator and cross-check) with
// an empty environment.
//
// A configuration file is semi-trusted, but no file may crash the host or
// make it hang: loading throws ConfigError listing the problems, or yields
// values. Loaded values must print as the effective configuration, and that
// YAML must load again (it is documented to load back to the same values)
// unless it holds secrets, which it prints as "****".

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/config_error.hpp"
#include "config/host_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto& schema = flint::config::host_config_schema();
  const flint::config::Environment no_environment;
  std::string effective;
  try {
    const auto values = schema.load_text(text, no_environment, "fuzz.yaml");
    effective = schema.effective_yaml(values);
  } catch (const flint::config::ConfigError&) {
    return 0;  // refused, naming the problems
  } catch (...) {
    std::abort();
  }
  try {
    (void)schema.load_text(effective, no_environment, "effective.yaml");
  } catch (const flint::config::ConfigError&) {
    if (effective.find("\"****\"") == std::string::npos) std::abort();
  } catch (...) {
    std::abort();
  }
  return 0;
}
