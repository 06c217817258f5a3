#pragma once

/// @file
/// `flint find`: asks a Flint server for an existing resource by instance name.

#include <iosfwd>
#include <optional>
#include <string>

#include "exec_command.hpp"
#include "server_access.hpp"

namespace CLI {
class App;
}

namespace flint::cli {

/// Options of `flint find`.
struct FindOptions {
  /// Instance name to look up.
  std::string instance_name;
  /// Directory packed as `driverFiles`.
  std::string driver_files;
  /// Resource-state YAML file, read for its deployment location (optional).
  std::string resource_state;
  /// `--location-name`: overrides the resource state's location name.
  std::optional<std::string> location_name;
  /// `--location-type`: overrides the resource state's location type.
  std::optional<std::string> location_type;
  /// How to reach the server (`--url`, `--token-file`, `--cacert`).
  ServerAccess server;
};

/// Adds the `find` subcommand to `app`, parsing into `options` (which must
/// outlive the parse). Returns the subcommand.
CLI::App* add_find_command(CLI::App& app, FindOptions& options);

/// Runs `flint find`: prints the result JSON (`null` when nothing was found)
/// on `out`, errors on `err`. Returns 0 when found, 1 when not found, 2 on
/// bad input, an API error or a connection failure.
int run_find_command(const FindOptions& options, std::ostream& out, std::ostream& err);

}  // namespace flint::cli
