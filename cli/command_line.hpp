#pragma once

/// @file
/// The `flint` command line: every subcommand with the options it parses
/// into, and a parse that ends a usage error with exit status 2.

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

#include "drivers_command.hpp"
#include "events_command.hpp"
#include "exec_command.hpp"
#include "executions_command.hpp"
#include "find_command.hpp"
#include "health_command.hpp"
#include "infra_command.hpp"
#include "new_driver_command.hpp"

namespace CLI {
class App;
}

namespace flint::cli {

/// The subcommands of `flint`.
enum class Command {
  serve,
  config,
  backup,
  version,
  exec,
  find,
  infra,
  events,
  executions,
  drivers,
  health,
  new_driver
};

/// The `flint` command tree. Not copyable: the subcommands hold references
/// to the options below.
class CommandLine {
 public:
  CommandLine();
  ~CommandLine();
  CommandLine(const CommandLine&) = delete;
  CommandLine& operator=(const CommandLine&) = delete;

  /// Parses `argv` (`argv[0]` is the program). Returns nothing when
  /// `command()` is to run, else the status to exit with at once: 0 after
  /// printing `--help` or `--version` on `out`; 2 (`kExitError`) on a usage
  /// error (unknown command or option, missing argument, bad value), which
  /// one line on `err` explains, naming the `--help` to read.
  std::optional<int> parse(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

  /// The subcommand given, once `parse` returned nothing.
  Command command() const { return command_; }

  /// `serve`, `config`, `backup`: `--config FILE` (empty when not given).
  std::optional<std::string> config_file;
  /// `backup --to DIR`.
  std::string backup_to;
  ExecOptions exec;
  FindOptions find;
  InfraOptions infra;
  EventsOptions events;
  ExecutionsOptions executions;
  DriversOptions drivers;
  HealthOptions health;
  NewDriverOptions new_driver;

 private:
  std::unique_ptr<CLI::App> app_;
  Command command_ = Command::version;
};

}  // namespace flint::cli
