#include "command_line.hpp"

#include <array>
#include <ostream>
#include <string_view>
#include <utility>

#include <CLI/CLI.hpp>

#include <flint/sdk/version.hpp>

#include "exit_status.hpp"

namespace flint::cli {
namespace {

constexpr std::array<std::pair<std::string_view, Command>, 12> kCommands{{
    {"serve", Command::serve},
    {"config", Command::config},
    {"backup", Command::backup},
    {"version", Command::version},
    {"exec", Command::exec},
    {"find", Command::find},
    {"infra", Command::infra},
    {"events", Command::events},
    {"executions", Command::executions},
    {"drivers", Command::drivers},
    {"health", Command::health},
    {"new-driver", Command::new_driver},
}};

// The innermost subcommand the parse reached (`flint infra create`), whose
// help explains what went wrong.
const CLI::App& innermost(const CLI::App& app) {
  const CLI::App* current = &app;
  while (!current->get_subcommands().empty()) current = current->get_subcommands().front();
  return *current;
}

// "flint infra create".
std::string command_path(const CLI::App& app) {
  std::string path = app.get_name();
  for (const CLI::App* parent = app.get_parent(); parent != nullptr;
       parent = parent->get_parent()) {
    path = parent->get_name() + " " + path;
  }
  return path;
}

// One line: CLI11's message, except that a missing subcommand names the word
// given in its place (CLI11 checks the subcommand before the extra words).
std::string usage_error(const CLI::App& app, const CLI::ParseError& error) {
  const CLI::App& at = innermost(app);
  const std::string path = command_path(at);
  const std::string see = " (see " + path + " --help)";
  if (at.get_require_subcommand_min() > 0 && at.get_subcommands().empty()) {
    const auto extras = at.remaining();
    for (const auto& word : extras) {
      if (word.starts_with('-')) continue;
      // "bogus", or "infra bogus" under `flint infra`.
      const auto prefix = path.find(' ');
      const std::string typed =
          prefix == std::string::npos ? word : path.substr(prefix + 1) + " " + word;
      return "unknown command \"" + typed + "\"" + see;
    }
    if (!extras.empty()) return CLI::ExtrasError(extras).what() + see;
  }
  // `flint --url X health`: the command's own option, typed before the command. CLI11 only says
  // that "X --url" was not expected.
  if (&at != &app) {
    for (const auto& word : app.remaining()) {
      if (!word.starts_with('-')) continue;
      const std::string option = word.substr(0, word.find('='));
      if (at.get_option_no_throw(option) != nullptr) {
        return "option " + option + " goes after the command: " + path + " " + option + " ..." +
               see;
      }
    }
  }
  return error.what() + see;
}

}  // namespace

CommandLine::CommandLine()
    : app_(std::make_unique<CLI::App>("Flint: a host for southbound infrastructure drivers",
                                      "flint")) {
  CLI::App& app = *app_;
  app.require_subcommand(1);
  app.set_version_flag("--version", FLINT_SDK_VERSION_STRING);

  auto* serve = app.add_subcommand(
      "serve", "Serve the driver APIs (until SIGINT/SIGTERM; SIGHUP reloads TLS and token files)");
  serve->add_option("-c,--config", config_file, "YAML configuration file (or FLINT_CONFIG)");
  auto* config =
      app.add_subcommand("config", "Print the effective configuration, secrets redacted");
  config->add_option("-c,--config", config_file, "YAML configuration file (or FLINT_CONFIG)");
  auto* backup = app.add_subcommand(
      "backup",
      "Copy the data directory (databases, key, driver records) into a new directory, while "
      "Flint runs or not; the copy is a data directory Flint can start on. Exit status: 0 done, "
      "1 failed (nothing left at --to), 2 bad configuration or usage, 130/143 interrupted "
      "(nothing left)");
  backup->add_option("-c,--config", config_file, "YAML configuration file (or FLINT_CONFIG)");
  backup->add_option("--to", backup_to, "New directory for the copy (must not exist)")->required();
  app.add_subcommand("version", "Print the version");

  add_exec_command(app, exec);
  add_find_command(app, find);
  add_infra_command(app, infra);
  add_events_command(app, events);
  add_executions_command(app, executions);
  add_drivers_command(app, drivers);
  add_health_command(app, health);
  add_new_driver_command(app, new_driver);
}

CommandLine::~CommandLine() = default;

std::optional<int> CommandLine::parse(int argc, const char* const* argv, std::ostream& out,
                                      std::ostream& err) {
  try {
    app_->parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version arrive as "errors" with status 0.
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      return app_->exit(e, out, err);
    }
    // Not CLI11's own statuses (106, 109...): 2 is the documented one.
    err << "flint: " << usage_error(*app_, e) << "\n";
    return kExitError;
  }
  const std::string name = app_->get_subcommands().front()->get_name();
  for (const auto& [command_name, command] : kCommands) {
    if (command_name == name) command_ = command;
  }
  return std::nullopt;
}

}  // namespace flint::cli
