#include "app/builtin_drivers.hpp"

#include <flint/sdk/lifecycle.hpp>

#include <stdexcept>

#include "noop/noop_driver.hpp"

namespace flint::app {

std::vector<std::string> builtin_resource_driver_names() { return {"noop"}; }

std::unique_ptr<sdk::ResourceDriver> make_builtin_resource_driver(std::string_view name,
                                                                 const config::HostConfig& config) {
  if (name == "noop") {
    const auto& noop = config.drivers.noop;
    drivers::noop::Options options;
    // The schema only admits valid names, so the parses below cannot fail.
    options.outcome = noop.outcome == "FAILED" ? drivers::noop::Outcome::failed
                                               : drivers::noop::Outcome::complete;
    options.failure_code = *sdk::parse_failure_code(noop.failure_code);
    options.polls_in_progress = static_cast<std::int64_t>(noop.polls_in_progress);
    options.latency = noop.latency;
    options.find_found = noop.find_found;
    return std::make_unique<drivers::noop::NoopDriver>(options);
  }
  throw std::invalid_argument("resource_driver.driver: no built-in driver named '" +
                              std::string(name) + "'");
}

}  // namespace flint::app
