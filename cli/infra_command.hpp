#pragma once

/// @file
/// `flint infra`: the Infrastructure API of a Flint server from the command
/// line: `create` and `delete` (waiting for the task's event), `query` and
/// `find`.

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "exec_command.hpp"
#include "server_access.hpp"

namespace CLI {
class App;
}

namespace flint::cli {

/// The `flint infra` subcommands.
enum class InfraAction { create, remove, query, find };

/// Options of `flint infra` (each subcommand reads the ones it has).
struct InfraOptions {
  /// The subcommand given.
  InfraAction action = InfraAction::create;
  /// `create`, `find`: the template file (`--template`), sent as text.
  std::string template_file;
  /// `create`, `find`: `--template-type`.
  std::string template_type = "TOSCA";
  /// `create`: `--name`, the `resourceName` system property (required
  /// unless the resource state's system properties have one).
  std::optional<std::string> name;
  /// `create`: `--property NAME=VALUE` (string properties, after the
  /// resource state's `resourceProperties`).
  std::vector<std::string> properties;
  /// Resource-state YAML file (optional): `create` reads its system and
  /// resource properties and location, the others its location.
  std::string resource_state;
  /// `--location-name`: overrides the resource state's location name.
  std::optional<std::string> location_name;
  /// `--location-type`: overrides the resource state's location type.
  std::optional<std::string> location_type;
  /// `--tenant`: sent as the `tenantId` header.
  std::optional<std::string> tenant;
  /// `delete`, `query`: the infrastructure id.
  std::string infrastructure_id;
  /// `query`: the request id.
  std::string request_id;
  /// `find`: the instance name.
  std::string instance_name;
  /// `create`, `delete`: how long to wait for the outcome (`10m`, `90s`...).
  std::string timeout = "10m";
  /// How to reach the server (`--url`, `--token-file`, `--cacert`).
  ServerAccess server;
  /// Print the outcome as JSON on one line (the event payload, the task, or
  /// the find result).
  bool json = false;
};

/// Adds the `infra` subcommand, with `create`, `delete`, `query` and `find`,
/// to `app`, parsing into `options` (which must outlive the parse). Returns
/// the `infra` subcommand.
CLI::App* add_infra_command(CLI::App& app, InfraOptions& options);

/// Runs `flint infra <action>`: the outcome goes to `out`, progress and
/// errors to `err` (`live` draws a live progress line, for a terminal).
/// Returns 0 on COMPLETE (`create`, `delete`), on a task not FAILED
/// (`query`) or when found (`find`); 1 on FAILED, for a task the server does
/// not know (`query`: its 400) or when nothing was found (`find`); 2 on a
/// time-out, bad input, an API error or a connection failure (one line on
/// `err` says which).
int run_infra_command(const InfraOptions& options, std::ostream& out, std::ostream& err, bool live);

}  // namespace flint::cli
