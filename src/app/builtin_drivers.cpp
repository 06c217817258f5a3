#include "app/builtin_drivers.hpp"

#include <flint/sdk/lifecycle.hpp>
#include <flint/sdk/version.hpp>

#include "netns/netns_driver.hpp"
#include "noop/noop_driver.hpp"
#include "noop/noop_infrastructure_driver.hpp"
#include "script/script_driver.hpp"

namespace flint::app {

void register_builtin_drivers(sdk::DriverRegistrar& registrar, const config::HostConfig& config) {
  // Built-in drivers read the host's own typed keys (drivers.noop.*,
  // drivers.script.*), so they declare no settings of their own.
  drivers::noop::Options noop;
  const auto& noop_config = config.drivers.noop;
  // The schema only admits valid names, so the parses below cannot fail.
  noop.outcome = noop_config.outcome == "FAILED" ? drivers::noop::Outcome::failed
                                                 : drivers::noop::Outcome::complete;
  noop.failure_code = *sdk::parse_failure_code(noop_config.failure_code);
  noop.polls_in_progress = static_cast<std::int64_t>(noop_config.polls_in_progress);
  noop.latency = noop_config.latency;
  noop.find_found = noop_config.find_found;
  noop.state_dir = noop_config.state_dir;
  registrar.add_resource_driver(
      {.name = "noop",
       .version = FLINT_SDK_VERSION_STRING,
       .description = "Does nothing, as configured or told per request (tests, benchmarks)",
       .scope = sdk::InstanceScope::shared},
      [noop](const sdk::DriverInstanceContext&) {
        return std::make_unique<drivers::noop::NoopDriver>(noop);
      });

  registrar.add_infrastructure_driver(
      {.name = "noop-infrastructure",
       .version = FLINT_SDK_VERSION_STRING,
       .description = "Builds nothing, as told per request (tests, benchmarks)",
       .scope = sdk::InstanceScope::shared},
      [](const sdk::DriverInstanceContext&) {
        return std::make_unique<drivers::noop::NoopInfrastructureDriver>();
      });

  drivers::netns::NetnsDriver::Options netns;
  const auto& netns_config = config.drivers.netns;
  netns.state_dir = netns_state_dir(config);
  netns.max_computes = netns_config.max_computes;
  netns.prefix = netns_config.prefix;
  netns.command_timeout = netns_config.command_timeout;
  registrar.add_infrastructure_driver(
      {.name = "netns",
       .version = FLINT_SDK_VERSION_STRING,
       .description = "Network namespaces, bridges and veth pairs from a TOSCA template "
                      "(iproute2; needs root)",
       .scope = sdk::InstanceScope::shared},
      [netns](const sdk::DriverInstanceContext&) {
        return std::make_unique<drivers::netns::NetnsDriver>(netns);
      });

  drivers::script::Options script;
  const auto& script_config = config.drivers.script;
  script.executions_dir = script_executions_dir(config);
  script.default_timeout = script_config.default_timeout;
  script.max_concurrent = script_config.max_concurrent;
  script.keep_work_dirs = script_config.keep_work_dirs;
  // Past its total deadline the host asks for an execution no more.
  script.abandoned_after = config.monitoring.total_timeout + std::chrono::hours(1);
  registrar.add_resource_driver(
      {.name = "script",
       .version = FLINT_SDK_VERSION_STRING,
       .description = "Runs the lifecycle scripts of the resource's driver files",
       .scope = sdk::InstanceScope::shared},
      [script](const sdk::DriverInstanceContext&) {
        return std::make_unique<drivers::script::ScriptDriver>(script);
      });
}

std::filesystem::path netns_state_dir(const config::HostConfig& config) {
  const auto& configured = config.drivers.netns.state_dir;
  return configured.empty() ? config.store.data_dir / "netns" : configured;
}

std::filesystem::path script_executions_dir(const config::HostConfig& config) {
  const auto& configured = config.drivers.script.executions_dir;
  return configured.empty() ? config.store.data_dir / "script-executions" : configured;
}

}  // namespace flint::app
