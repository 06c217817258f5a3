#include "executions_command.hpp"

#include <algorithm>
#include <charconv>
#include <ostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "exit_status.hpp"
#include "flint_api.hpp"
#include "http_client.hpp"
#include "integer_option.hpp"
#include "json_output.hpp"
#include "text_table.hpp"

namespace flint::cli {
namespace {

namespace json = boost::json;

// The server's largest page.
constexpr std::size_t kPageSize = 500;

// A string field as it is, another value as JSON, a missing or null one as
// `fallback`.
std::string text(const json::object& record, std::string_view key,
                 std::string_view fallback = "-") {
  const auto* value = record.if_contains(key);
  if (!value || value->is_null()) return std::string(fallback);
  if (value->is_string()) return std::string(value->get_string());
  return compact_json(*value);
}

// "IN_PROGRESS 2026-...Z, COMPLETE 2026-...Z".
std::string transitions_of(const json::object& record) {
  const auto* transitions = record.if_contains("transitions");
  if (!transitions || !transitions->is_array()) return "-";
  std::string line;
  for (const auto& entry : transitions->get_array()) {
    if (!entry.is_object()) continue;
    line += (line.empty() ? "" : ", ") + text(entry.get_object(), "status", "?") + " " +
            text(entry.get_object(), "at", "?");
  }
  return line.empty() ? "-" : line;
}

int list(FlintApi& api, const ExecutionsOptions& options, std::ostream& out, std::ostream& err) {
  std::vector<json::object> records;
  std::optional<std::string> after;
  bool more = false;
  do {
    const std::size_t wanted = std::min(kPageSize, options.limit - records.size());
    auto page = api.monitored_executions(after, wanted);
    for (auto& record : page.executions) {
      if (records.size() == options.limit) break;
      records.push_back(std::move(record));
    }
    after = std::move(page.next);
    more = after.has_value();
  } while (more && records.size() < options.limit);
  if (options.json) {
    for (const auto& record : records) out << compact_json(record) << "\n";
  } else if (!records.empty()) {
    out << format_executions_table(records, std::chrono::system_clock::now());
  }
  out << std::flush;
  // Notes on stderr: stdout stays the table (or JSON lines) alone.
  if (records.empty()) err << "flint: no execution is in progress on " << api.base().text << "\n";
  if (more) {
    err << "flint: more executions are in progress than --limit " << options.limit << " shows\n";
  }
  return kExitSuccess;
}

int show(FlintApi& api, const ExecutionsOptions& options, std::ostream& out, std::ostream& err) {
  const auto record = api.execution_record(options.request_id);
  if (!record) {
    err << "flint: no execution with id " << options.request_id << " on " << api.base().text
        << " (never accepted there, or its record was removed after store.execution_retention)\n";
    return kExitNegative;
  }
  out << (options.json ? compact_json(*record) + "\n" : format_execution_record(*record))
      << std::flush;
  return kExitSuccess;
}

}  // namespace

CLI::App* add_executions_command(CLI::App& app, ExecutionsOptions& options) {
  auto* cmd = app.add_subcommand(
      "executions",
      "List the lifecycle executions a Flint server monitors now, oldest first, or show the "
      "record of one (GET /api/driver/lifecycle/executions[/ID])");
  auto* id = cmd->add_option("request-id", options.request_id,
                             "Show this execution's record (in progress or ended)");
  cmd->add_option("--limit", options.limit, "List at most this many executions")
      ->check(integer_from(1, 1'000'000))
      ->capture_default_str()
      ->excludes(id);
  cmd->add_flag("--json", options.json, "Print each record as one JSON line");
  add_server_access_options(*cmd, options.server);
  return cmd;
}

int run_executions_command(const ExecutionsOptions& options, std::ostream& out, std::ostream& err) {
  try {
    HttpClient http = connect(options.server, err);
    FlintApi api(http);
    return options.request_id.empty() ? list(api, options, out, err) : show(api, options, out, err);
  } catch (const std::exception& e) {
    err << "flint: " << e.what() << "\n";
    return kExitError;
  }
}

std::string format_executions_table(const std::vector<json::object>& records,
                                    std::chrono::system_clock::time_point now) {
  std::vector<std::vector<std::string>> rows{
      {"REQUEST ID", "LIFECYCLE", "DRIVER", "TENANT", "ACCEPTED", "AGE"}};
  for (const auto& record : records) {
    const std::string accepted = text(record, "acceptedAt");
    const auto at = parse_record_time(accepted);
    rows.push_back(
        {text(record, "requestId"), text(record, "lifecycleName"), text(record, "driver"),
         text(record, "tenantId"), accepted,
         at ? format_age(std::chrono::duration_cast<std::chrono::milliseconds>(now - *at)) : "?"});
  }
  return text_table(rows);
}

std::string format_execution_record(const json::object& record) {
  std::vector<std::vector<std::string>> rows{{"requestId:", text(record, "requestId")},
                                             {"lifecycleName:", text(record, "lifecycleName")},
                                             {"driver:", text(record, "driver")},
                                             {"tenantId:", text(record, "tenantId")},
                                             {"status:", text(record, "status")}};
  if (const auto* failure = record.if_contains("failureDetails"); failure && failure->is_object()) {
    rows.push_back({"failureCode:", text(failure->get_object(), "failureCode")});
    rows.push_back({"description:", text(failure->get_object(), "description")});
  }
  for (const char* field : {"monitoring", "acceptedAt", "completedAt", "deliveredAt"}) {
    rows.push_back({std::string(field) + ":", text(record, field)});
  }
  rows.push_back({"transitions:", transitions_of(record)});
  std::string out = text_table(rows);
  for (const char* field : {"outputs", "associatedTopology"}) {
    const auto* value = record.if_contains(field);
    out += std::string(field) + ": " + (value ? pretty_json(*value) : "-") + "\n";
  }
  return out;
}

std::optional<std::chrono::system_clock::time_point> parse_record_time(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS.mmmZ, the one form the server writes.
  if (text.size() != 24 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':' || text[19] != '.' || text[23] != 'Z') {
    return std::nullopt;
  }
  const auto number = [&](std::size_t at, std::size_t length) -> std::optional<int> {
    int value = 0;
    const char* end = text.data() + at + length;
    const auto [stop, error] = std::from_chars(text.data() + at, end, value);
    if (error != std::errc() || stop != end || value < 0) return std::nullopt;
    return value;
  };
  const auto year = number(0, 4), month = number(5, 2), day = number(8, 2);
  const auto hour = number(11, 2), minute = number(14, 2), second = number(17, 2);
  const auto millisecond = number(20, 3);
  if (!year || !month || !day || !hour || !minute || !second || !millisecond) return std::nullopt;
  namespace chrono = std::chrono;
  const chrono::year_month_day date{chrono::year(*year), chrono::month(*month), chrono::day(*day)};
  if (!date.ok() || *hour > 23 || *minute > 59 || *second > 59) return std::nullopt;
  return chrono::sys_days(date) + chrono::hours(*hour) + chrono::minutes(*minute) +
         chrono::seconds(*second) + chrono::milliseconds(*millisecond);
}

std::string format_age(std::chrono::milliseconds age) {
  const std::int64_t total =
      std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::seconds>(age).count());
  const std::int64_t d = total / 86400, h = total / 3600 % 24, m = total / 60 % 60, s = total % 60;
  if (d > 0) return fmt::format("{}d{:02}h", d, h);
  if (h > 0) return fmt::format("{}h{:02}m", h, m);
  if (m > 0) return fmt::format("{}m{:02}s", m, s);
  return fmt::format("{}s", s);
}

}  // namespace flint::cli
