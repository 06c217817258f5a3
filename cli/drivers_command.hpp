#pragma once

/// @file
/// `flint drivers`: lists the drivers a Flint server hosts.

#include <iosfwd>
#include <string>

#include <boost/json/object.hpp>

#include "exec_command.hpp"
#include "server_access.hpp"

namespace CLI {
class App;
}

namespace flint::cli {

/// Options of `flint drivers`.
struct DriversOptions {
  /// How to reach the server (`--url`, `--token-file`, `--cacert`).
  ServerAccess server;
  /// Print the server's JSON instead of a table.
  bool json = false;
};

/// Adds the `drivers` subcommand to `app`, parsing into `options` (which
/// must outlive the parse). Returns the subcommand.
CLI::App* add_drivers_command(CLI::App& app, DriversOptions& options);

/// Runs `flint drivers`: one line per driver (kind, name, vendor/model,
/// version, instance scope and count, breakers not closed, origin), then the
/// libraries the server skipped. Returns 0, or 2 on a connection or API error.
int run_drivers_command(const DriversOptions& options, std::ostream& out, std::ostream& err);

/// The table `flint drivers` prints for a `GET /api/drivers` body.
std::string format_drivers_table(const boost::json::object& listing);

}  // namespace flint::cli
