#include "exec_command.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <ostream>
#include <thread>

#include <CLI/CLI.hpp>

#include <flint/sdk/json.hpp>

#include "duration.hpp"
#include "event_wait.hpp"
#include "exit_status.hpp"
#include "files/base64.hpp"
#include "flint_api.hpp"
#include "http_client.hpp"
#include "interrupt.hpp"
#include "json_output.hpp"
#include "progress_display.hpp"
#include "request_builder.hpp"
#include "resource_state.hpp"
#include "system_properties.hpp"
#include "zip_directory.hpp"

namespace flint::cli {
namespace {

using Clock = std::chrono::steady_clock;

// The long poll of the event log; the server caps it at 60 s.
constexpr auto kStatusInterval = std::chrono::seconds(1);
// How long the event may lag the record's terminal status before the record
// is the outcome: in a cluster, the node that ended the execution writes the
// event into its own log, which this server's need not hold.
constexpr auto kEventGrace = std::chrono::seconds(3);

std::string string_field(const boost::json::object& object, std::string_view key) {
  if (const auto* value = object.if_contains(key); value && value->is_string()) {
    return std::string(value->as_string());
  }
  return {};
}

void print_outcome(std::ostream& out, const boost::json::object& payload) {
  out << "status: " << string_field(payload, "status") << "\n";
  out << "requestId: " << string_field(payload, "requestId") << "\n";
  if (const auto* failure = payload.if_contains("failureDetails");
      failure && failure->is_object()) {
    out << "failureCode: " << string_field(failure->as_object(), "failureCode") << "\n";
    out << "description: " << string_field(failure->as_object(), "description") << "\n";
  }
  for (const char* key : {"outputs", "associatedTopology"}) {
    const auto* value = payload.if_contains(key);
    out << key << ": " << pretty_json(value ? *value : boost::json::object()) << "\n";
  }
}

// What the durable execution record says while the event is awaited.
struct RecordView {
  std::string status;   // for the progress line; empty once terminal (the event tells)
  std::string stopped;  // "stopped: <why>" when monitoring ended without an outcome
  std::optional<boost::json::object> outcome;  // once terminal: the event's fields
};

RecordView read_record(FlintApi& api, const std::string& request_id) {
  RecordView view;
  try {
    if (auto record = api.execution(request_id)) {
      auto status = string_field(*record, "status");
      // A terminal status is announced by its event, with the outcome.
      if (status != "COMPLETE" && status != "FAILED") {
        view.status = std::move(status);
      } else {
        // The event's payload, as the server would have written it.
        boost::json::object fields;
        for (const char* key :
             {"requestId", "status", "failureDetails", "outputs", "associatedTopology"}) {
          if (const auto* value = record->if_contains(key)) fields[key] = *value;
        }
        view.outcome = sdk::json::encode(sdk::json::decode_lifecycle_execution(fields, "record"));
      }
      // No event will come: the driver lost the request, say.
      if (auto monitoring = string_field(*record, "monitoring");
          monitoring.starts_with("stopped")) {
        view.stopped = std::move(monitoring);
      }
    }
  } catch (const std::exception&) {
    // Only decoration: the event decides the outcome.
  }
  return view;
}

}  // namespace

CLI::App* add_exec_command(CLI::App& app, ExecOptions& options) {
  auto* cmd = app.add_subcommand(
      "exec",
      "Run one lifecycle on a Flint server and wait for its outcome (like Ignition's "
      "testdrive). Exit status: 0 COMPLETE, 1 FAILED, 2 time-out or error");
  cmd->add_option("lifecycle", options.lifecycle, "Lifecycle name, e.g. Create")->required();
  cmd->add_option("--driver-files", options.driver_files,
                  "Directory sent as the driverFiles ZIP (the package's Lifecycle/<type>/ folder)")
      ->required();
  cmd->add_option("--resource-state", options.resource_state,
                  "YAML file with the properties, topology and deployment location (docs/cli.md)");
  cmd->add_option("--location-name", options.location_name,
                  "Deployment location name (default: the resource state's, else \"local\")");
  cmd->add_option("--location-type", options.location_type, "Deployment location type");
  add_tenant_option(*cmd, options.tenant);
  cmd->add_option("--timeout", options.timeout, "How long to wait for the outcome (90s, 10m, 1h)")
      ->capture_default_str();
  add_server_access_options(*cmd, options.server);
  cmd->add_flag("--json", options.json, "Print the outcome as the event payload, one JSON line");
  return cmd;
}

int run_exec_command(const ExecOptions& options, std::ostream& out, std::ostream& err, bool live) {
  // Prepare everything before contacting the server: bad input fails fast.
  std::chrono::milliseconds timeout{};
  boost::json::object request;
  std::optional<HttpClient> http;
  try {
    http.emplace(connect(options.server, err));
    timeout = parse_duration(options.timeout, "--timeout");
    ResourceState state;
    if (!options.resource_state.empty()) state = load_resource_state(options.resource_state);
    const auto location =
        resolve_location(state.deployment_location, options.location_name, options.location_type);
    complete_system_properties(state.system_properties, location.name);
    const std::string driver_files = files::encode_base64(zip_directory(options.driver_files));
    request = build_execute_request(options.lifecycle, driver_files, state, location);
  } catch (const std::exception& e) {
    err << "flint: " << e.what() << "\n";
    return kExitError;
  }

  const auto deadline = Clock::now() + timeout;
  FlintApi api(*http, deadline);
  std::string request_id;
  try {
    // Read the head of the log first: the outcome event cannot come before.
    std::uint64_t after = api.head_seq();
    auto accepted = api.execute(request, options.tenant);
    request_id = std::string(accepted.at("requestId").as_string());

    static std::string interrupted;
    interrupted = "\nflint: interrupted; request " + request_id +
                  " goes on on the server (flint events, or GET "
                  "/api/driver/lifecycle/executions/" +
                  request_id + ")\n";
    exit_on_interrupt(130, interrupted.c_str());

    ProgressDisplay progress(err, live, options.lifecycle, "ACCEPTED");
    progress.note(options.lifecycle + ": request " + request_id + " accepted");
    auto status_checked = Clock::time_point();
    std::string stopped;
    std::optional<boost::json::object> recorded_outcome;
    auto recorded_at = Clock::time_point();
    const EventWait wait{
        .after = after,
        .deadline = deadline,
        .matches = [&](const Event& event) { return event.request_id == request_id; },
        // The record's status decorates the wait; at most once a second, so a
        // busy log (pages returning at once) does not double the requests.
        .tick =
            [&] {
              if (Clock::now() - status_checked < kStatusInterval) return true;
              auto record = read_record(api, request_id);
              if (!record.status.empty()) progress.set_status(record.status);
              status_checked = Clock::now();
              stopped = std::move(record.stopped);
              if (record.outcome && !recorded_outcome) {
                recorded_outcome = std::move(record.outcome);
                recorded_at = Clock::now();
              }
              // Ended, and its event is in another node's log: the record tells.
              if (recorded_outcome && Clock::now() - recorded_at >= kEventGrace) return false;
              return stopped.empty();
            },
        .status_after_reconnect = {},
        // Short, so that a record ended on another cluster node is seen soon.
        .longest_poll = std::chrono::seconds(2),
    };
    auto event = wait_for_event(api, wait, progress);
    progress.stop();
    if (!event && recorded_outcome) {
      event.emplace();
      event->request_id = request_id;
      event->payload = std::move(*recorded_outcome);
    }
    if (!event && !stopped.empty()) {
      err << "flint: the server stopped monitoring request " << request_id
          << " without an outcome (" << stopped
          << "); no event will come (GET /api/driver/lifecycle/executions/" << request_id << ")\n";
      return kExitError;
    }
    if (!event) {
      err << "flint: timed out after " << options.timeout << " waiting for request " << request_id
          << "; it goes on on the server (GET /api/driver/lifecycle/executions/" << request_id
          << ")\n";
      return kExitError;
    }
    const std::string status = string_field(event->payload, "status");
    if (options.json) {
      out << compact_json(event->payload) << "\n";
    } else {
      print_outcome(out, event->payload);
    }
    out << std::flush;
    err << "flint: " << options.lifecycle << ": " << status << " after "
        << format_elapsed(progress.elapsed()) << "\n";
    if (status == "COMPLETE") return kExitSuccess;
    if (status == "FAILED") return kExitNegative;
    err << "flint: unexpected status \"" << status << "\" in the event\n";
    return kExitError;
  } catch (const std::exception& e) {
    err << "flint: " << e.what() << "\n";
    return kExitError;
  }
}

}  // namespace flint::cli
