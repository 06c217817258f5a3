// The `flint` binary: the host (`serve`) and its client commands.

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/core/string.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <flint/sdk/version.hpp>

#include "app/application.hpp"
#include "command_line.hpp"
#include "config/config_error.hpp"
#include "config/environment.hpp"
#include "config/host_config.hpp"
#include "events/event_log.hpp"
#include "events/kafka/kafka_client.hpp"
#include "logging/logging.hpp"
#include "store/data_directory_backup.hpp"
#include "store/flint_schema.hpp"

namespace {

// `--config FILE` (even empty: load_host_config refuses that), else
// `FLINT_CONFIG`, else embedded defaults only.
std::optional<std::filesystem::path> config_path(const std::optional<std::string>& flag,
                                                 const flint::config::Environment& env) {
  if (flag) return std::filesystem::path(*flag);
  if (auto it = env.find("FLINT_CONFIG"); it != env.end() && !it->second.empty()) {
    return std::filesystem::path(it->second);
  }
  return std::nullopt;
}

// The last word of a failed start: one logstash line when that is the
// format (configured, or asked for by LOG_TYPE before the configuration could
// be read), since a log pipeline expects nothing else; else plain text.
// The environment's choice of format, read as the configuration reads it:
// FLINT_LOGGING_TYPE before Ignition's LOG_TYPE, in any case.
bool environment_asks_for_logstash() {
  const char* type = std::getenv("FLINT_LOGGING_TYPE");
  if (type == nullptr) type = std::getenv("LOG_TYPE");
  return type != nullptr && boost::beast::iequals(type, std::string_view("logstash"));
}

int report_failure(int status, const std::string& what) {
  if (flint::logging::format() == flint::logging::LogFormat::logstash ||
      environment_asks_for_logstash()) {
    flint::logging::configure({.level = "info", .format = flint::logging::LogFormat::logstash});
    flint::logging::logger("app")->critical("flint: {}", what);
    flint::logging::flush();
  } else {
    std::cerr << "flint: " << what << "\n";
  }
  return status;
}

// A Kafka consumer whose destroy outlasted its limit still runs on librdkafka's
// threads (see events::destroy_consumer): end without the static destructors
// they may still use (the log's, OpenSSL's), as a detached driver call does.
int end_serving(int status) {
  if (flint::events::kafka_clients_left_running() == 0) return status;
  flint::logging::flush();
  std::fflush(nullptr);
  std::_Exit(status);
}

int serve(const std::optional<std::string>& config_flag) {
  const auto env = flint::config::process_environment();
  flint::config::HostConfig config =
      flint::config::load_host_config(config_path(config_flag, env), env);
  flint::app::Application application(std::move(config));
  return application.run();
}

int print_config(const std::optional<std::string>& config_flag) {
  const auto env = flint::config::process_environment();
  std::cout << flint::config::effective_yaml(config_path(config_flag, env), env);
  return 0;
}

// The signal that interrupted `flint backup`, 0 until one did.
std::atomic<int> backup_stop{0};
static_assert(std::atomic<int>::is_always_lock_free);  // set from a signal handler

// `flint backup`: the configuration `serve` reads says what to copy.
int back_up(const std::optional<std::string>& config_flag, const std::string& destination) {
  const auto env = flint::config::process_environment();
  const flint::config::HostConfig config =
      flint::config::load_host_config(config_path(config_flag, env), env);
  flint::store::BackupRequest request{.data_dir = config.store.data_dir,
                                      .destination = destination,
                                      .copy_key = config.store.key_file.empty(),
                                      .record_dirs = {},
                                      .stop = &backup_stop};
  // The netns driver's records, when it keeps them in the data directory
  // (the default); a scratch directory of running commands is no record.
  if (config.drivers.netns.state_dir.empty()) {
    request.record_dirs = {"netns/infrastructures", "netns/tasks"};
  }
  // Ctrl-C or a service stop ends the copy and removes its parts (left to
  // the default action, they would stay beside --to).
  for (const int signal : {SIGINT, SIGTERM}) {
    std::signal(signal, [](int caught) { backup_stop.store(caught); });
  }
  flint::store::BackupReport report;
  try {
    report = flint::store::back_up_data_directory(request);
  } catch (const flint::store::BackupInterrupted&) {
    const int caught = backup_stop.load();
    return report_failure(128 + caught,
                          fmt::format("backup interrupted by {}; nothing was left at {}",
                                      caught == SIGINT ? "SIGINT" : "SIGTERM", destination));
  } catch (const flint::store::BackupDestinationError& e) {
    return report_failure(2, e.what());
  }
  for (const auto& database : report.databases) {
    const auto bytes = static_cast<double>(database.bytes);
    const bool large = bytes >= 1024.0 * 1024.0;
    std::cout << fmt::format("{:<16}{:>10.1f} {}  schema {}, checked\n", database.name,
                             bytes / (large ? 1024.0 * 1024.0 : 1024.0), large ? "MiB" : "KiB",
                             database.schema_version);
  }
  if (report.key_copied) {
    std::cout << "credentials.key\n";
  } else if (!request.copy_key) {
    std::cout << "credentials key not copied: store.key_file is " << config.store.key_file.string()
              << "; keep that file with this copy\n";
  } else {
    std::cout << "credentials.key: none in the data directory\n";
  }
  if (report.record_files > 0) {
    std::cout << fmt::format("{:<16}{:>10} files\n", "netns records", report.record_files);
  }
  std::cout << "backed up " << report.data_dir.string() << " to " << report.destination.string()
            << "\n(to restore: stop Flint, put this directory in place of store.data_dir, or "
               "point store.data_dir at it, and start Flint)\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  flint::cli::CommandLine command_line;
  if (auto status = command_line.parse(argc, argv, std::cout, std::cerr)) return *status;

  using flint::cli::Command;
  const bool live = ::isatty(STDERR_FILENO) == 1;
  // Client commands report their own errors and exit statuses (0/1/2).
  switch (command_line.command()) {
    case Command::version:
      // The formats tell whether this binary can open a data directory: an
      // older schema is migrated at start, a newer one refused.
      std::cout << "flint " << FLINT_SDK_VERSION_STRING << " (driver SDK ABI "
                << FLINT_SDK_ABI_VERSION << "; data directory: flint.db schema "
                << flint::store::flint_schema().back().version << ", events.db schema "
                << flint::events::EventLog::schema_version() << ")\n";
      return 0;
    case Command::exec:
      return flint::cli::run_exec_command(command_line.exec, std::cout, std::cerr, live);
    case Command::find:
      return flint::cli::run_find_command(command_line.find, std::cout, std::cerr);
    case Command::infra:
      return flint::cli::run_infra_command(command_line.infra, std::cout, std::cerr, live);
    case Command::events:
      return flint::cli::run_events_command(command_line.events, std::cout, std::cerr);
    case Command::executions:
      return flint::cli::run_executions_command(command_line.executions, std::cout, std::cerr);
    case Command::drivers:
      return flint::cli::run_drivers_command(command_line.drivers, std::cout, std::cerr);
    case Command::health:
      return flint::cli::run_health_command(command_line.health, std::cout, std::cerr);
    case Command::new_driver:
      return flint::cli::run_new_driver_command(command_line.new_driver, std::cout, std::cerr);
    case Command::serve:
    case Command::config:
    case Command::backup:
      break;
  }
  try {
    if (command_line.command() == Command::serve) {
      flint::app::absorb_hangups();  // a reload asked for during the start must not end it
      return end_serving(serve(command_line.config_file));
    }
    if (command_line.command() == Command::backup) {
      return back_up(command_line.config_file, command_line.backup_to);
    }
    return print_config(command_line.config_file);
  } catch (const flint::config::ConfigError& e) {
    return report_failure(2, std::string("invalid configuration:\n") + e.what());
  } catch (const std::exception& e) {
    return end_serving(report_failure(1, e.what()));  // a start that failed may leave one too
  }
}
