#pragma once

/// @file
/// `flint exec`: runs one lifecycle against a Flint server and waits for its
/// outcome (Ignition's `testdrive`).

#include <iosfwd>
#include <optional>
#include <string>

#include "server_access.hpp"

namespace CLI {
class App;
}

namespace flint::cli {

/// Options of `flint exec`.
struct ExecOptions {
  /// Lifecycle name (`Create`, `Install`...).
  std::string lifecycle;
  /// Directory packed as `driverFiles`.
  std::string driver_files;
  /// Resource-state YAML file (optional).
  std::string resource_state;
  /// `--location-name`: overrides the resource state's location name.
  std::optional<std::string> location_name;
  /// `--location-type`: overrides the resource state's location type.
  std::optional<std::string> location_type;
  /// `--tenant`: sent as the `tenantId` header.
  std::optional<std::string> tenant;
  /// How long to wait for the outcome (`10m`, `90s`...).
  std::string timeout = "10m";
  /// How to reach the server (`--url`, `--token-file`, `--cacert`).
  ServerAccess server;
  /// Print the outcome as the raw event payload (one JSON line).
  bool json = false;
};

/// Adds the `exec` subcommand to `app`, parsing into `options` (which must
/// outlive the parse). Returns the subcommand.
CLI::App* add_exec_command(CLI::App& app, ExecOptions& options);

/// Runs `flint exec`: the outcome goes to `out`, progress and errors to `err`
/// (`live` draws a live progress line, for a terminal).
/// Returns 0 on COMPLETE, 1 on FAILED, 2 on a time-out, bad input, an API
/// error or a connection failure (one line on `err` says which).
int run_exec_command(const ExecOptions& options, std::ostream& out, std::ostream& err, bool live);

}  // namespace flint::cli
