#include "find_command.hpp"

#include <ostream>

#include <CLI/CLI.hpp>

#include "exit_status.hpp"
#include "files/base64.hpp"
#include "flint_api.hpp"
#include "http_client.hpp"
#include "json_output.hpp"
#include "request_builder.hpp"
#include "resource_state.hpp"
#include "zip_directory.hpp"

namespace flint::cli {

CLI::App* add_find_command(CLI::App& app, FindOptions& options) {
  auto* cmd = app.add_subcommand(
      "find",
      "Find an existing resource by instance name (runs the driver's find). Exit status: "
      "0 found, 1 not found, 2 error");
  cmd->add_option("instance", options.instance_name, "Instance name to look for")->required();
  cmd->add_option("--driver-files", options.driver_files,
                  "Directory sent as the driverFiles ZIP (the package's Lifecycle/<type>/ folder)")
      ->required();
  cmd->add_option("--resource-state", options.resource_state,
                  "YAML file whose deploymentLocation is used (docs/cli.md)");
  cmd->add_option("--location-name", options.location_name,
                  "Deployment location name (default: the resource state's, else \"local\")");
  cmd->add_option("--location-type", options.location_type, "Deployment location type");
  add_server_access_options(*cmd, options.server);
  return cmd;
}

int run_find_command(const FindOptions& options, std::ostream& out, std::ostream& err) {
  try {
    HttpClient http = connect(options.server, err);
    std::optional<sdk::DeploymentLocation> from_state;
    if (!options.resource_state.empty()) {
      from_state = load_resource_state(options.resource_state).deployment_location;
    }
    const auto location =
        resolve_location(from_state, options.location_name, options.location_type);
    const std::string driver_files = files::encode_base64(zip_directory(options.driver_files));
    FlintApi api(http);
    const auto result = api.find(build_find_request(options.instance_name, driver_files, location));
    out << pretty_json(result) << "\n" << std::flush;
    if (result.is_null()) {
      err << "flint: no instance named \"" << options.instance_name << "\" was found\n";
      return kExitNegative;
    }
    return kExitSuccess;
  } catch (const std::exception& e) {
    err << "flint: " << e.what() << "\n";
    return kExitError;
  }
}

}  // namespace flint::cli
