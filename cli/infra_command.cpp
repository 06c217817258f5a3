#include "infra_command.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <CLI/CLI.hpp>

#include <flint/sdk/json.hpp>

#include "duration.hpp"
#include "event_wait.hpp"
#include "exit_status.hpp"
#include "flint_api.hpp"
#include "http_client.hpp"
#include "interrupt.hpp"
#include "json_output.hpp"
#include "progress_display.hpp"
#include "request_builder.hpp"
#include "resource_state.hpp"
#include "system_properties.hpp"

namespace flint::cli {
namespace {

using Clock = std::chrono::steady_clock;

// The event log topic of infrastructure task events (key: the request id).
constexpr std::string_view kTaskTopic = "infrastructure_task_events";
// The long poll of the event log; the server caps it at 60 s.

std::string string_field(const boost::json::object& object, std::string_view key) {
  if (const auto* value = object.if_contains(key); value && value->is_string()) {
    return std::string(value->as_string());
  }
  return {};
}

// A task (query reply or event payload) for people.
void print_task(std::ostream& out, const boost::json::object& task) {
  for (const char* key : {"status", "infrastructureId", "requestId"}) {
    out << key << ": " << string_field(task, key) << "\n";
  }
  if (const auto* failure = task.if_contains("failureDetails"); failure && failure->is_object()) {
    out << "failureCode: " << string_field(failure->as_object(), "failureCode") << "\n";
    out << "description: " << string_field(failure->as_object(), "description") << "\n";
  }
  const auto* outputs = task.if_contains("outputs");
  out << "outputs: " << pretty_json(outputs ? *outputs : boost::json::object()) << "\n";
}

void print_json_or(std::ostream& out, bool json, const boost::json::value& value,
                   const std::function<void()>& for_people) {
  if (json) {
    out << compact_json(value) << "\n";
  } else {
    for_people();
  }
  out << std::flush;
}

std::string read_template(const std::string& file) {
  if (file.empty()) throw std::invalid_argument("--template: required");
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw std::runtime_error("--template: cannot read " + file + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().empty()) throw std::invalid_argument("--template: " + file + " is empty");
  return std::move(text).str();
}

std::string non_empty(const std::string& value, std::string_view option) {
  if (value.empty()) throw std::invalid_argument(std::string(option) + ": must not be empty");
  return value;
}

// `--property NAME=VALUE` as a string property.
std::pair<std::string, std::string> parse_property(const std::string& text) {
  const auto equals = text.find('=');
  if (equals == std::string::npos || equals == 0) {
    throw std::invalid_argument("--property: expected NAME=VALUE, got \"" + text + "\"");
  }
  return {text.substr(0, equals), text.substr(equals + 1)};
}

// The resource state (when given) and the deployment location to send.
std::pair<ResourceState, sdk::DeploymentLocation> load_state(const InfraOptions& options) {
  ResourceState state;
  if (!options.resource_state.empty()) state = load_resource_state(options.resource_state);
  auto location =
      resolve_location(state.deployment_location, options.location_name, options.location_type);
  return {std::move(state), std::move(location)};
}

boost::json::object create_request(const InfraOptions& options) {
  auto [state, location] = load_state(options);
  sdk::PropertyMap& system = state.system_properties;
  if (options.name) {
    system.set("resourceName", sdk::Property::string(non_empty(*options.name, "--name")));
  }
  if (!system.contains("resourceName")) {
    throw std::invalid_argument(
        "--name: required (the infrastructure's resourceName), unless the resource state's "
        "systemProperties have a resourceName");
  }
  complete_system_properties(system, location.name);
  sdk::PropertyMap properties = state.resource_properties;
  for (const auto& text : options.properties) {
    auto [name, value] = parse_property(text);
    properties.set(std::move(name), sdk::Property::string(std::move(value)));
  }
  boost::json::object body;
  body["template"] = read_template(options.template_file);
  body["templateType"] = non_empty(options.template_type, "--template-type");
  body["systemProperties"] = sdk::json::encode(system);
  body["properties"] = sdk::json::encode(properties);
  body["deploymentLocation"] = sdk::json::encode(location);
  return body;
}

boost::json::object delete_request(const InfraOptions& options) {
  boost::json::object body;
  body["infrastructureId"] = non_empty(options.infrastructure_id, "infrastructure id");
  body["deploymentLocation"] = sdk::json::encode(load_state(options).second);
  return body;
}

boost::json::object query_request(const InfraOptions& options) {
  boost::json::object body;
  body["infrastructureId"] = non_empty(options.infrastructure_id, "infrastructure id");
  body["requestId"] = non_empty(options.request_id, "request id");
  body["deploymentLocation"] = sdk::json::encode(load_state(options).second);
  return body;
}

boost::json::object find_request(const InfraOptions& options) {
  boost::json::object body;
  body["template"] = read_template(options.template_file);
  body["templateType"] = non_empty(options.template_type, "--template-type");
  body["instanceName"] = non_empty(options.instance_name, "instance name");
  body["deploymentLocation"] = sdk::json::encode(load_state(options).second);
  return body;
}

bool is_task_event(const Event& event, const std::string& request_id) {
  return event.topic == kTaskTopic && (event.key == request_id || event.request_id == request_id);
}

// `text` as one shell word.
std::string shell_word(const std::string& text) {
  const bool plain = !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 ||
           std::string_view("_./:@%+=,-").find(static_cast<char>(c)) != std::string_view::npos;
  });
  if (plain) return text;
  std::string quoted = "'";
  for (const char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// The `flint infra query` command that reads the task later from the same
// server, with the same location, tenant and credentials: copied as printed,
// it works.
std::string query_command(const InfraOptions& options, const std::string& infrastructure_id,
                          const std::string& request_id) {
  std::string command =
      "flint infra query " + shell_word(infrastructure_id) + " " + shell_word(request_id);
  const auto add = [&](std::string_view option, const std::string& value) {
    if (!value.empty()) command += " " + std::string(option) + " " + shell_word(value);
  };
  add("--resource-state", options.resource_state);
  add("--location-name", options.location_name.value_or(""));
  add("--location-type", options.location_type.value_or(""));
  add("--tenant", options.tenant.value_or(""));
  if (options.server.url != kDefaultUrl) add("--url", options.server.url);
  add("--token-file", options.server.token_file);
  add("--cacert", options.server.ca_file);
  add("--cert", options.server.cert_file);
  add("--key", options.server.key_file);
  return command;
}

// Starts a create or delete (`start` posts it) and waits for its task
// event, like `flint exec` waits for a lifecycle event.
int run_task(const InfraOptions& options, const std::string& label,
             const boost::json::object& request,
             boost::json::object (FlintApi::*start)(const boost::json::object&,
                                                    const std::optional<std::string>&),
             std::chrono::milliseconds timeout, HttpClient& http, std::ostream& out,
             std::ostream& err, bool live) {
  const auto deadline = Clock::now() + timeout;
  FlintApi api(http, deadline);
  // Read the head of the log first: the outcome event cannot come before.
  std::uint64_t after = api.head_seq();
  const auto accepted = (api.*start)(request, options.tenant);
  const std::string infrastructure_id = string_field(accepted, "infrastructureId");
  const std::string request_id = string_field(accepted, "requestId");
  const std::string query_hint = query_command(options, infrastructure_id, request_id);

  static std::string interrupted;
  interrupted = "\nflint: interrupted; request " + request_id + " goes on on the server (" +
                query_hint + ")\n";
  exit_on_interrupt(130, interrupted.c_str());

  ProgressDisplay progress(err, live, label, "IN_PROGRESS");
  progress.note(label + ": infrastructure " + infrastructure_id + ", request " + request_id +
                " accepted");
  const EventWait wait{
      .after = after,
      .deadline = deadline,
      .matches = [&](const Event& event) { return is_task_event(event, request_id); },
      .tick = {},
      .status_after_reconnect = "IN_PROGRESS",
  };
  const auto event = wait_for_event(api, wait, progress);
  progress.stop();
  if (!event) {
    err << "flint: timed out after " << options.timeout << " waiting for request " << request_id
        << "; it goes on on the server (" << query_hint << ")\n";
    return kExitError;
  }
  const std::string status = string_field(event->payload, "status");
  print_json_or(out, options.json, event->payload, [&] { print_task(out, event->payload); });
  err << "flint: " << label << ": " << status << " after " << format_elapsed(progress.elapsed())
      << "\n";
  if (status == "COMPLETE") return kExitSuccess;
  if (status == "FAILED") return kExitNegative;
  err << "flint: unexpected status \"" << status << "\" in the event\n";
  return kExitError;
}

int run_query(const InfraOptions& options, const boost::json::object& request, HttpClient& http,
              std::ostream& out, std::ostream& err) {
  FlintApi api(http);
  boost::json::object task;
  try {
    task = api.query_infrastructure(request, options.tenant);
  } catch (const ApiError& e) {
    // The contract answers an unknown infrastructure or request with 400.
    if (e.status() != 400) throw;
    err << "flint: " << e.what() << "\n";
    return kExitNegative;
  }
  print_json_or(out, options.json, task, [&] { print_task(out, task); });
  return string_field(task, "status") == "FAILED" ? kExitNegative : kExitSuccess;
}

int run_find(const InfraOptions& options, const boost::json::object& request, HttpClient& http,
             std::ostream& out, std::ostream& err) {
  FlintApi api(http);
  const auto result = api.find_infrastructure(request, options.tenant);
  print_json_or(out, options.json, result, [&] { out << pretty_json(result) << "\n"; });
  if (result.is_null()) {
    err << "flint: no infrastructure named \"" << options.instance_name << "\" was found\n";
    return kExitNegative;
  }
  return kExitSuccess;
}

// The options every `flint infra` subcommand has.
void add_common_options(CLI::App& cmd, InfraOptions& options, const char* state_help) {
  cmd.add_option("--resource-state", options.resource_state, state_help);
  cmd.add_option("--location-name", options.location_name,
                 "Deployment location name (default: the resource state's, else \"local\")");
  cmd.add_option("--location-type", options.location_type, "Deployment location type");
  add_tenant_option(cmd, options.tenant);
  add_server_access_options(cmd, options.server);
  cmd.add_flag("--json", options.json, "Print the outcome as JSON, on one line");
}

void add_template_options(CLI::App& cmd, InfraOptions& options) {
  cmd.add_option("--template", options.template_file,
                 "Template file (TOSCA, Heat...), sent as text")
      ->required();
  cmd.add_option("--template-type", options.template_type, "Template type (TOSCA, HEAT...)")
      ->capture_default_str();
}

}  // namespace

CLI::App* add_infra_command(CLI::App& app, InfraOptions& options) {
  auto* infra = app.add_subcommand(
      "infra",
      "Create, delete, query and find infrastructure on a Flint server (the Infrastructure API). "
      "Exit status: 0 COMPLETE or found, 1 FAILED or not found, 2 time-out or error");
  infra->require_subcommand(1);

  auto* create = infra->add_subcommand(
      "create", "Create infrastructure from a template and wait for the task's outcome");
  add_template_options(*create, options);
  create->add_option("--name", options.name,
                     "Instance name: the resourceName system property (required unless the "
                     "resource state has one)");
  create
      ->add_option("--property", options.properties,
                   "A string property NAME=VALUE of the infrastructure (repeatable)")
      ->take_all()
      ->expected(1);
  create
      ->add_option("--timeout", options.timeout, "How long to wait for the outcome (90s, 10m, 1h)")
      ->capture_default_str();
  add_common_options(*create, options,
                     "YAML file with systemProperties, resourceProperties (sent as properties) "
                     "and deploymentLocation (docs/cli.md)");
  create->callback([&options] { options.action = InfraAction::create; });

  auto* remove =
      infra->add_subcommand("delete", "Delete infrastructure and wait for the task's outcome");
  remove->add_option("id", options.infrastructure_id, "Infrastructure id")->required();
  remove
      ->add_option("--timeout", options.timeout, "How long to wait for the outcome (90s, 10m, 1h)")
      ->capture_default_str();
  add_common_options(*remove, options, "YAML file whose deploymentLocation is used");
  remove->callback([&options] { options.action = InfraAction::remove; });

  auto* query = infra->add_subcommand(
      "query", "Print the status of a create or delete task (exit 1 when FAILED or unknown)");
  query->add_option("id", options.infrastructure_id, "Infrastructure id")->required();
  query->add_option("request_id", options.request_id, "Request id of the task")->required();
  add_common_options(*query, options, "YAML file whose deploymentLocation is used");
  query->callback([&options] { options.action = InfraAction::query; });

  auto* find =
      infra->add_subcommand("find", "Find infrastructure by instance name (exit 1 when not found)");
  find->add_option("name", options.instance_name, "Instance name to look for")->required();
  add_template_options(*find, options);
  add_common_options(*find, options, "YAML file whose deploymentLocation is used");
  find->callback([&options] { options.action = InfraAction::find; });
  return infra;
}

int run_infra_command(const InfraOptions& options, std::ostream& out, std::ostream& err,
                      bool live) {
  // Prepare everything before contacting the server: bad input fails fast.
  std::optional<HttpClient> http;
  boost::json::object request;
  std::chrono::milliseconds timeout{};
  try {
    http.emplace(connect(options.server, err));
    switch (options.action) {
      case InfraAction::create:
        timeout = parse_duration(options.timeout, "--timeout");
        request = create_request(options);
        break;
      case InfraAction::remove:
        timeout = parse_duration(options.timeout, "--timeout");
        request = delete_request(options);
        break;
      case InfraAction::query:
        request = query_request(options);
        break;
      case InfraAction::find:
        request = find_request(options);
        break;
    }
  } catch (const std::exception& e) {
    err << "flint: " << e.what() << "\n";
    return kExitError;
  }

  try {
    switch (options.action) {
      case InfraAction::create:
        return run_task(options, "infra create", request, &FlintApi::create_infrastructure, timeout,
                        *http, out, err, live);
      case InfraAction::remove:
        return run_task(options, "infra delete", request, &FlintApi::delete_infrastructure, timeout,
                        *http, out, err, live);
      case InfraAction::query:
        return run_query(options, request, *http, out, err);
      case InfraAction::find:
        return run_find(options, request, *http, out, err);
    }
  } catch (const std::exception& e) {
    err << "flint: " << e.what() << "\n";
  }
  return kExitError;
}

}  // namespace flint::cli
