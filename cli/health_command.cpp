#include "health_command.hpp"

#include <ostream>
#include <vector>

#include <CLI/CLI.hpp>

#include "exit_status.hpp"
#include "flint_api.hpp"
#include "http_client.hpp"
#include "json_output.hpp"
#include "text_table.hpp"

namespace flint::cli {
namespace {

namespace json = boost::json;

std::string status_of(const json::value& vital) {
  if (const auto* object = vital.if_object()) {
    if (const auto* status = object->if_contains("status"); status && status->is_string()) {
      return std::string(status->get_string());
    }
  }
  return "?";
}

std::string details_of(const json::value& vital) {
  const auto* object = vital.if_object();
  if (object == nullptr) return compact_json(vital);
  std::string details;
  for (const auto& [key, value] : *object) {
    if (key == "status") continue;
    details += details.empty() ? "" : " ";
    details += std::string(key) + "=" +
               (value.is_string() ? std::string(value.get_string()) : compact_json(value));
  }
  return details;
}

}  // namespace

CLI::App* add_health_command(CLI::App& app, HealthOptions& options) {
  auto* cmd = app.add_subcommand(
      "health",
      "Print a Flint server's vitals (GET /management/health). Exit status: 0 healthy, 1 a vital "
      "UNHEALTHY (or DEGRADED, with --strict), 2 unreachable or error");
  add_server_access_options(*cmd, options.server);
  cmd->add_flag("--json", options.json, "Print the server's JSON");
  cmd->add_flag("--strict", options.strict, "Exit 1 on a DEGRADED vital too");
  return cmd;
}

std::string format_health_table(const json::object& health) {
  std::vector<std::vector<std::string>> rows{{"VITAL", "STATUS", "DETAILS"}};
  if (const auto* vitals = health.if_contains("vitals"); vitals && vitals->is_object()) {
    for (const auto& [name, vital] : vitals->get_object()) {
      rows.push_back({std::string(name), status_of(vital), details_of(vital)});
    }
  }
  return text_table(rows);
}

int run_health_command(const HealthOptions& options, std::ostream& out, std::ostream& err) {
  try {
    HttpClient http = connect(options.server, err);
    FlintApi api(http);
    const auto health = api.health();
    out << (options.json ? pretty_json(health.body) + "\n" : format_health_table(health.body))
        << std::flush;
    if (!health.healthy) return kExitNegative;
    if (options.strict) {
      for (const auto& [name, vital] : health.body.at("vitals").get_object()) {
        if (status_of(vital) != "OK") return kExitNegative;
      }
    }
    return kExitSuccess;
  } catch (const std::exception& e) {
    err << "flint: " << e.what() << "\n";
    return kExitError;
  }
}

}  // namespace flint::cli
