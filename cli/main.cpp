// The `flint` binary: the host (`serve`) and its client commands.

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <flint/sdk/version.hpp>

#include "app/application.hpp"
#include "config/config_error.hpp"
#include "config/environment.hpp"
#include "config/host_config.hpp"
#include "drivers_command.hpp"
#include "events_command.hpp"
#include "exec_command.hpp"
#include "find_command.hpp"
#include "infra_command.hpp"
#include "new_driver_command.hpp"

namespace {

// `--config FILE`, else `FLINT_CONFIG`, else embedded defaults only.
std::optional<std::filesystem::path> config_path(const std::string& flag,
                                                 const flint::config::Environment& env) {
  if (!flag.empty()) return std::filesystem::path(flag);
  if (auto it = env.find("FLINT_CONFIG"); it != env.end() && !it->second.empty()) {
    return std::filesystem::path(it->second);
  }
  return std::nullopt;
}

int serve(const std::string& config_flag) {
  const auto env = flint::config::process_environment();
  flint::config::HostConfig config =
      flint::config::load_host_config(config_path(config_flag, env), env);
  flint::app::Application application(std::move(config));
  return application.run();
}

int print_config(const std::string& config_flag) {
  const auto env = flint::config::process_environment();
  std::cout << flint::config::effective_yaml(config_path(config_flag, env), env);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"Flint: a host for southbound infrastructure drivers", "flint"};
  cli.require_subcommand(1);
  cli.set_version_flag("--version", FLINT_SDK_VERSION_STRING);

  std::string config_file;
  auto* serve_cmd = cli.add_subcommand("serve", "Serve the driver APIs (until SIGINT/SIGTERM)");
  serve_cmd->add_option("-c,--config", config_file, "YAML configuration file (or FLINT_CONFIG)");
  auto* config_cmd =
      cli.add_subcommand("config", "Print the effective configuration, secrets redacted");
  config_cmd->add_option("-c,--config", config_file, "YAML configuration file (or FLINT_CONFIG)");
  cli.add_subcommand("version", "Print the version")->callback([] {
    std::cout << "flint " << FLINT_SDK_VERSION_STRING << " (driver SDK ABI "
              << FLINT_SDK_ABI_VERSION << ")\n";
  });

  flint::cli::ExecOptions exec_options;
  auto* exec_cmd = flint::cli::add_exec_command(cli, exec_options);
  flint::cli::FindOptions find_options;
  auto* find_cmd = flint::cli::add_find_command(cli, find_options);
  flint::cli::InfraOptions infra_options;
  auto* infra_cmd = flint::cli::add_infra_command(cli, infra_options);
  flint::cli::EventsOptions events_options;
  auto* events_cmd = flint::cli::add_events_command(cli, events_options);
  flint::cli::DriversOptions drivers_options;
  auto* drivers_cmd = flint::cli::add_drivers_command(cli, drivers_options);
  flint::cli::NewDriverOptions new_driver_options;
  auto* new_driver_cmd = flint::cli::add_new_driver_command(cli, new_driver_options);

  CLI11_PARSE(cli, argc, argv);
  // Client commands report their own errors and exit statuses (0/1/2).
  if (exec_cmd->parsed()) {
    return flint::cli::run_exec_command(exec_options, std::cout, std::cerr,
                                        ::isatty(STDERR_FILENO) == 1);
  }
  if (find_cmd->parsed()) return flint::cli::run_find_command(find_options, std::cout, std::cerr);
  if (infra_cmd->parsed()) {
    return flint::cli::run_infra_command(infra_options, std::cout, std::cerr,
                                         ::isatty(STDERR_FILENO) == 1);
  }
  if (events_cmd->parsed()) {
    return flint::cli::run_events_command(events_options, std::cout, std::cerr);
  }
  if (drivers_cmd->parsed()) {
    return flint::cli::run_drivers_command(drivers_options, std::cout, std::cerr);
  }
  if (new_driver_cmd->parsed()) {
    return flint::cli::run_new_driver_command(new_driver_options, std::cout, std::cerr);
  }
  try {
    if (serve_cmd->parsed()) return serve(config_file);
    if (config_cmd->parsed()) return print_config(config_file);
  } catch (const flint::config::ConfigError& e) {
    std::cerr << "flint: invalid configuration:\n" << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "flint: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
