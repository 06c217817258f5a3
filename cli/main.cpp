// The `flint` binary: the host (`serve`) and its client commands.

#include <CLI/CLI.hpp>
#include <flint/sdk/version.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "app/application.hpp"
#include "config/config_error.hpp"
#include "config/environment.hpp"
#include "config/host_config.hpp"

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
  const int status = application.run();
  if (application.left_driver_calls_running()) {
    spdlog::shutdown();
    std::fflush(nullptr);
    std::_Exit(status);  // hung driver threads cannot be joined
  }
  return status;
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

  CLI11_PARSE(cli, argc, argv);
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
