#include "app/builtin_drivers.hpp"

#include <stdexcept>

#include <flint/sdk/lifecycle.hpp>

#include "noop/noop_driver.hpp"
#include "script/script_driver.hpp"

namespace flint::app {

std::unique_ptr<sdk::ResourceDriver> make_builtin_resource_driver(
    std::string_view name, const config::HostConfig& config) {
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
  if (name == "script") {
    const auto& script = config.drivers.script;
    drivers::script::Options options;
    options.executions_dir = script.executions_dir.empty()
                                 ? config.store.data_dir / "script-executions"
                                 : script.executions_dir;
    options.default_timeout = script.default_timeout;
    options.max_concurrent = script.max_concurrent;
    options.keep_work_dirs = script.keep_work_dirs;
    return std::make_unique<drivers::script::ScriptDriver>(options);
  }
  throw std::invalid_argument("resource_driver.driver: no built-in driver named '" +
                              std::string(name) + "'");
}

}  // namespace flint::app
