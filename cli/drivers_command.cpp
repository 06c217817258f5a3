#include "drivers_command.hpp"

#include <map>
#include <ostream>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/json/serialize.hpp>

#include "exit_status.hpp"
#include "flint_api.hpp"
#include "http_client.hpp"
#include "json_output.hpp"
#include "text_table.hpp"

namespace flint::cli {
namespace {

namespace json = boost::json;

std::string text(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  if (!value) return "";
  if (value->is_string()) return std::string(value->get_string());
  return json::serialize(*value);
}

// "2 open, 1 half_open", or "-".
std::string breakers_summary(const json::object& driver) {
  const auto* breakers = driver.if_contains("breakers");
  if (!breakers || !breakers->is_array()) return "-";
  std::map<std::string, int> by_state;
  for (const auto& breaker : breakers->get_array()) {
    if (breaker.is_object()) ++by_state[text(breaker.get_object(), "state")];
  }
  std::string summary;
  for (const auto& [state, count] : by_state) {
    if (state == "closed") continue;  // closed but failing: shown in --json
    summary += (summary.empty() ? "" : ", ") + std::to_string(count) + " " + state;
  }
  return summary.empty() ? "-" : summary;
}

}  // namespace

CLI::App* add_drivers_command(CLI::App& app, DriversOptions& options) {
  auto* cmd =
      app.add_subcommand("drivers", "List the drivers a Flint server hosts (GET /api/drivers)");
  add_server_access_options(*cmd, options.server);
  cmd->add_flag("--json", options.json, "Print the server's JSON");
  return cmd;
}

std::string format_drivers_table(const json::object& listing) {
  std::vector<std::vector<std::string>> rows{
      {"KIND", "NAME", "VENDOR/MODEL", "VERSION", "SCOPE", "INSTANCES", "BREAKERS", "ORIGIN"}};
  if (const auto* drivers = listing.if_contains("drivers"); drivers && drivers->is_array()) {
    for (const auto& entry : drivers->get_array()) {
      if (!entry.is_object()) continue;
      const auto& driver = entry.get_object();
      std::string vendor_model = text(driver, "vendor");
      if (const auto model = text(driver, "model"); !model.empty()) vendor_model += "/" + model;
      rows.push_back({text(driver, "kind"), text(driver, "name"),
                      vendor_model.empty() ? "-" : vendor_model, text(driver, "version"),
                      text(driver, "instanceScope"), text(driver, "instances"),
                      breakers_summary(driver), text(driver, "origin")});
    }
  }
  std::string out = text_table(rows);
  if (const auto* errors = listing.if_contains("loadErrors");
      errors && errors->is_array() && !errors->get_array().empty()) {
    out += "\nSkipped libraries:\n";
    for (const auto& error : errors->get_array()) {
      if (!error.is_object()) continue;
      out +=
          "  " + text(error.get_object(), "file") + ": " + text(error.get_object(), "error") + "\n";
    }
  }
  return out;
}

int run_drivers_command(const DriversOptions& options, std::ostream& out, std::ostream& err) {
  try {
    HttpClient http = connect(options.server, err);
    FlintApi api(http);
    const auto listing = api.drivers();
    if (options.json) {
      out << pretty_json(listing) << "\n";
    } else {
      out << format_drivers_table(listing);
    }
    out << std::flush;
    return kExitSuccess;
  } catch (const std::exception& e) {
    err << "flint: " << e.what() << "\n";
    return kExitError;
  }
}

}  // namespace flint::cli
