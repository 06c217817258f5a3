#pragma once

/// @file
/// `flint health`: a server's vitals, and an exit status for scripts and
/// probes (a container image need not carry curl).

#include <iosfwd>
#include <string>

#include <boost/json/object.hpp>

#include "server_access.hpp"

namespace CLI {
class App;
}

namespace flint::cli {

/// Options of `flint health`.
struct HealthOptions {
  /// How to reach the server (`--url`, `--token-file`, `--cacert`).
  ServerAccess server;
  /// Print the server's JSON instead of a table.
  bool json = false;
  /// Exit 1 on a `DEGRADED` vital too, not only on an `UNHEALTHY` one.
  bool strict = false;
};

/// Adds the `health` subcommand to `app`, parsing into `options` (which
/// must outlive the parse). Returns the subcommand.
CLI::App* add_health_command(CLI::App& app, HealthOptions& options);

/// Runs `flint health`: one line per vital (name, status, details). Returns
/// 0 when the server is healthy (it answered 200: no vital `UNHEALTHY`; with
/// `strict`, none `DEGRADED` either), 1 when it is not, 2 when it cannot be
/// reached or its answer is not a health document.
int run_health_command(const HealthOptions& options, std::ostream& out, std::ostream& err);

/// The table `flint health` prints for a `GET /management/health` body:
/// `VITAL STATUS DETAILS`, details as `key=value` (strings as they are,
/// other values as JSON), in the server's order.
std::string format_health_table(const boost::json::object& health);

}  // namespace flint::cli
