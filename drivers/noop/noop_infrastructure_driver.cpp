#include "noop/noop_infrastructure_driver.hpp"

#include <chrono>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include <flint/sdk/errors.hpp>
#include <flint/sdk/ids.hpp>

#include "noop/noop_settings.hpp"

namespace flint::drivers::noop {
namespace {

namespace bj = boost::json;
using detail::invalid;

constexpr std::string_view kRequestProperties = "properties";
constexpr std::string_view kLocationProperties = "deploymentLocation.properties";

// A `noop.*` value: from the request's properties (typed) or the location's (plain JSON).
struct Lookup {
  const sdk::PropertyMap* properties = nullptr;
  const sdk::DeploymentLocation& location;

  std::optional<std::pair<bj::value, std::string_view>> find(std::string_view name) const {
    if (properties) {
      if (const auto* p = properties->find(name); p && !p->value().is_null()) {
        return std::pair{p->value(), kRequestProperties};
      }
    }
    if (const auto* v = location.properties.if_contains(name); v && !v->is_null()) {
      return std::pair{*v, kLocationProperties};
    }
    return std::nullopt;
  }
  std::optional<std::string> text(std::string_view name) const {
    const auto found = find(name);
    if (!found) return std::nullopt;
    if (!found->first.is_string()) invalid(found->second, name, "expected a string");
    return std::string(found->first.get_string());
  }
  std::int64_t count(std::string_view name) const {
    const auto found = find(name);
    if (!found) return 0;
    const auto number =
        sdk::Property("integer", bj::value(found->first, bj::storage_ptr())).as_integer();
    if (!number || *number < 0) invalid(found->second, name, "expected a non-negative integer");
    return *number;
  }
  // `noop.latencyMs`: a slow target, for tests of the call's deadline.
  void sleep_if_asked() const {
    std::this_thread::sleep_for(std::chrono::milliseconds(count("noop.latencyMs")));
  }
  void raise_if(std::string_view name) const {
    const auto kind = text(name);
    if (!kind) return;
    const auto error = detail::parse_kind(*kind, find(name)->second, name);
    sdk::raise_error(error, detail::raise_message(error, name), detail::raise_detail(name));
  }
};

// How a task ends, decided when it is accepted.
struct Script {
  std::int64_t polls_in_progress = 0;
  std::optional<sdk::ErrorKind> raise_on_poll;
  std::int64_t raise_on_poll_times = -1;  // -1: always
  sdk::InfrastructureTask outcome;
};

Script script_of(const Lookup& lookup, const std::string& infrastructure_id,
                 const std::string& request_id) {
  Script script;
  script.polls_in_progress = lookup.count("noop.pollsInProgress");
  if (auto kind = lookup.text("noop.raiseOnPoll")) {
    script.raise_on_poll =
        detail::parse_kind(*kind, lookup.find("noop.raiseOnPoll")->second, "noop.raiseOnPoll");
    if (lookup.find("noop.raiseOnPollTimes")) {
      script.raise_on_poll_times = lookup.count("noop.raiseOnPollTimes");
    }
  }
  bj::object outputs;
  if (const auto found = lookup.find("noop.outputs")) {
    if (!found->first.is_object()) invalid(found->second, "noop.outputs", "expected a map");
    outputs = found->first.get_object();
  }
  const auto outcome = lookup.text("noop.outcome").value_or("COMPLETE");
  if (outcome == "COMPLETE") {
    script.outcome = sdk::InfrastructureTask::complete(infrastructure_id, request_id, outputs);
  } else if (outcome == "FAILED") {
    const auto code_text = lookup.text("noop.failureCode").value_or("INTERNAL_ERROR");
    const auto code = sdk::parse_failure_code(code_text);
    if (!code) {
      invalid(lookup.find("noop.failureCode")->second, "noop.failureCode",
              "unknown failure code \"" + code_text + "\"");
    }
    script.outcome = sdk::InfrastructureTask::failed(
        infrastructure_id, request_id, *code,
        lookup.text("noop.failureDescription").value_or("noop driver: failure requested"));
    script.outcome.outputs = outputs;
  } else {
    invalid(lookup.find("noop.outcome")->second, "noop.outcome",
            "expected COMPLETE or FAILED, got \"" + outcome + "\"");
  }
  return script;
}

}  // namespace

struct NoopInfrastructureDriver::State {
  struct Task {
    std::string infrastructure_id;
    Script script;
    std::int64_t polls = 0;
    std::int64_t raised = 0;
  };
  struct Infrastructure {
    std::string instance_name;
    bj::object outputs;
  };
  std::mutex mutex;
  std::unordered_map<std::string, Task> tasks;                      // by request id
  std::unordered_map<std::string, Infrastructure> infrastructures;  // by id
};

NoopInfrastructureDriver::NoopInfrastructureDriver() : state_(std::make_unique<State>()) {}
NoopInfrastructureDriver::~NoopInfrastructureDriver() = default;

sdk::InfrastructureTaskAccepted NoopInfrastructureDriver::create_infrastructure(
    const sdk::CreateInfrastructureRequest& request, sdk::CallContext& /*context*/) {
  const Lookup lookup{&request.properties, request.deployment_location};
  lookup.raise_if("noop.raise");
  lookup.sleep_if_asked();
  if (request.template_text.empty()) throw sdk::InvalidTemplateError("template: empty");
  std::string infrastructure_id = sdk::new_time_ordered_id();
  std::string request_id = sdk::new_time_ordered_id();
  Script script = script_of(lookup, infrastructure_id, request_id);
  const std::string instance_name = request.system_properties.string_or(
      "resourceName", request.system_properties.string_or("resourceId", infrastructure_id));
  std::lock_guard lock(state_->mutex);
  if (script.outcome.status == sdk::ExecutionStatus::complete) {
    state_->infrastructures[infrastructure_id] = {instance_name, script.outcome.outputs};
  }
  state_->tasks[request_id] = {infrastructure_id, std::move(script), 0, 0};
  return {std::move(infrastructure_id), std::move(request_id)};
}

sdk::InfrastructureTask NoopInfrastructureDriver::get_infrastructure_task(
    std::string_view infrastructure_id, std::string_view request_id,
    const sdk::DeploymentLocation& /*location*/, sdk::CallContext& /*context*/) {
  std::lock_guard lock(state_->mutex);
  const auto it = state_->tasks.find(std::string(request_id));
  if (it == state_->tasks.end()) {
    throw sdk::RequestNotFoundError("noop driver: request \"" + std::string(request_id) +
                                    "\" not found");
  }
  auto& task = it->second;
  if (task.infrastructure_id != infrastructure_id) {
    throw sdk::InfrastructureNotFoundError("noop driver: infrastructure \"" +
                                           std::string(infrastructure_id) + "\" has no request \"" +
                                           std::string(request_id) + "\"");
  }
  if (task.script.raise_on_poll &&
      (task.script.raise_on_poll_times < 0 || task.raised < task.script.raise_on_poll_times)) {
    ++task.raised;
    sdk::raise_error(*task.script.raise_on_poll,
                     detail::raise_message(*task.script.raise_on_poll, "noop.raiseOnPoll"),
                     detail::raise_detail("noop.raiseOnPoll"));
  }
  if (task.polls++ < task.script.polls_in_progress) {
    return sdk::InfrastructureTask::in_progress(task.infrastructure_id, std::string(request_id));
  }
  return task.script.outcome;
}

sdk::InfrastructureTaskAccepted NoopInfrastructureDriver::delete_infrastructure(
    std::string_view infrastructure_id, const sdk::DeploymentLocation& location,
    sdk::CallContext& /*context*/) {
  const Lookup lookup{nullptr, location};
  lookup.raise_if("noop.raise");
  lookup.sleep_if_asked();
  std::string request_id = sdk::new_time_ordered_id();
  Script script = script_of(lookup, std::string(infrastructure_id), request_id);
  std::lock_guard lock(state_->mutex);
  const auto it = state_->infrastructures.find(std::string(infrastructure_id));
  if (it == state_->infrastructures.end()) {
    throw sdk::InfrastructureNotFoundError("noop driver: no infrastructure \"" +
                                           std::string(infrastructure_id) + "\"");
  }
  if (script.outcome.status == sdk::ExecutionStatus::complete) {
    script.outcome.outputs = {};
    state_->infrastructures.erase(it);
  }
  state_->tasks[request_id] = {std::string(infrastructure_id), std::move(script), 0, 0};
  return {std::string(infrastructure_id), std::move(request_id)};
}

sdk::FindInfrastructureResponse NoopInfrastructureDriver::find_infrastructure(
    const sdk::FindInfrastructureRequest& request, sdk::CallContext& /*context*/) {
  const Lookup lookup{nullptr, request.deployment_location};
  lookup.raise_if("noop.raise");
  std::lock_guard lock(state_->mutex);
  for (const auto& [id, infrastructure] : state_->infrastructures) {
    if (infrastructure.instance_name == request.instance_name) {
      return {sdk::FoundInfrastructure{id, infrastructure.outputs}};
    }
  }
  return {};
}

}  // namespace flint::drivers::noop
