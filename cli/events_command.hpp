#pragma once

/// @file
/// `flint events`: prints (and follows) the embedded event log of a server.

#include <cstdint>
#include <iosfwd>
#include <string>

#include "exec_command.hpp"
#include "server_access.hpp"

namespace CLI {
class App;
}

namespace flint::cli {

/// Options of `flint events`.
struct EventsOptions {
  /// Print the events whose sequence number is greater than this.
  std::uint64_t after = 0;
  /// The id of the event at `after` (empty: not checked). The server answers
  /// 409 when its log holds another event there; the command then fails.
  std::string after_id;
  /// Keep long-polling for new events until interrupted.
  bool follow = false;
  /// How to reach the server (`--url`, `--token-file`, `--cacert`).
  ServerAccess server;
};

/// Adds the `events` subcommand to `app`, parsing into `options` (which must
/// outlive the parse). Returns the subcommand.
CLI::App* add_events_command(CLI::App& app, EventsOptions& options);

/// Runs `flint events`: each event is one JSON line on `out` (flushed), errors
/// go to `err`. Without `follow` it returns once the log is read to its end.
/// Returns 0 when done (with `follow` it returns only on error; SIGINT ends
/// the process with 0), 2 on an API error or a connection failure.
int run_events_command(const EventsOptions& options, std::ostream& out, std::ostream& err);

}  // namespace flint::cli
