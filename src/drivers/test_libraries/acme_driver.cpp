// A fault-injecting resource driver for tests, registered as `acme` (vendor
// Acme, model X1, one instance per target) and `acme-any` (vendor Acme, any
// model). Behaviour per request, from the deployment location's properties:
//   fail: none | unreachable | temporary | error | int | segv
//         (every call fails so; int: `throw 42`; segv: the process gets SIGSEGV)
//   delay_ms: N                                          (every call sleeps first)
//   request_id: "..."                                    (the id execute returns)
//   report_as: "..."       (execute says it reports completion, then reports
//                           COMPLETE 100 ms later under this id: the wrong one)
//   hook_fail: any                                       (on_execution_delivered throws)
//   latin1: any            (outputs and find results hold text that is not UTF-8)
//   non_finite: any        (outputs and find results hold an infinity and a NaN)
//   status_value: N        (polls return ExecutionStatus N, cast: an unknown status)
//   complete_with_failure: any  (polls return COMPLETE with failure details)
//   failed_without_details: any (polls return FAILED without failure details;
//                                finds return a resource without an id)
//   generation: "..."      (named in the journal: which properties an instance was made with)
// Instances append "create <location>" and "close <location>" lines to the
// file named by the setting `journal` (if set), so that tests can watch the
// host make and finalize them; "create <location> <generation>" when the
// location has a `generation` property.
#include <chrono>
#include <cmath>
#include <csignal>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include <flint/sdk/driver_plugin.hpp>
#include <flint/sdk/errors.hpp>
#include <flint/sdk/ids.hpp>

namespace {

using namespace flint::sdk;

std::mutex journal_mutex;

void write_journal(const std::string& path, const std::string& line) {
  if (path.empty()) return;
  std::lock_guard lock(journal_mutex);
  std::ofstream(path, std::ios::app) << line << '\n';
}

class AcmeDriver final : public ResourceDriver {
 public:
  AcmeDriver(std::string name, std::string journal, std::string greeting, std::string location,
             std::string generation)
      : name_(std::move(name)),
        journal_(std::move(journal)),
        greeting_(std::move(greeting)),
        location_(std::move(location)) {
    write_journal(journal_, "create " + location_ + (generation.empty() ? "" : " " + generation));
  }
  ~AcmeDriver() override { write_journal(journal_, "close " + location_); }

  LifecycleExecuteResponse execute_lifecycle(const ExecuteLifecycleRequest& request,
                                             CallContext& /*context*/) override {
    behave(request.deployment_location);
    LifecycleExecuteResponse response;
    const auto* chosen = request.deployment_location.properties.if_contains("request_id");
    response.request_id =
        chosen && chosen->is_string() ? std::string(chosen->get_string()) : new_time_ordered_id();
    if (const auto* wrong = request.deployment_location.properties.if_contains("report_as");
        wrong && wrong->is_string() && request.reporter) {
      response.reports_completion = true;
      std::thread([reporter = request.reporter, id = std::string(wrong->get_string())] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        reporter->report(LifecycleExecution::complete(id, {}));
      }).detach();
    }
    std::lock_guard lock(mutex_);
    executions_[response.request_id] = request.lifecycle_name;
    return response;
  }

  LifecycleExecution get_lifecycle_execution(std::string_view request_id,
                                             const DeploymentLocation& location,
                                             CallContext& /*context*/) override {
    behave(location);
    std::lock_guard lock(mutex_);
    const auto it = executions_.find(std::string(request_id));
    if (it == executions_.end())
      throw RequestNotFoundError("no execution " + std::string(request_id));
    auto execution = LifecycleExecution::complete(it->first, {{"driver", name_},
                                                              {"greeting", greeting_},
                                                              {"lifecycle", it->second},
                                                              {"instanceLocation", location_}});
    if (location.properties.contains("latin1")) {
      execution.outputs["text"] = "caf\xE9 \xFF";
      execution.outputs["k\xE9y"] = "value";
    }
    if (location.properties.contains("non_finite")) {
      execution.outputs["huge"] = HUGE_VAL;
      execution.outputs["list"] = boost::json::array{1.5, std::nan("")};
    }
    if (const auto* status = location.properties.if_contains("status_value");
        status && status->is_int64()) {
      execution.status = static_cast<ExecutionStatus>(status->as_int64());
    }
    if (location.properties.contains("complete_with_failure")) {
      execution.failure_details = FailureDetails{FailureCode::infrastructure_error, "not really"};
    }
    if (location.properties.contains("failed_without_details")) {
      execution.status = ExecutionStatus::failed;
      execution.outputs.clear();
    }
    return execution;
  }

  void on_execution_delivered(std::string_view request_id, const DeploymentLocation& location,
                              CallContext& /*context*/) override {
    write_journal(journal_, "delivered " + std::string(request_id));
    if (location.properties.contains("hook_fail")) {
      throw UnreachableDeploymentLocationError("acme: clean-up failed");
    }
  }

  FindReferenceResponse find_reference(const FindReferenceRequest& request,
                                       CallContext& /*context*/) override {
    behave(request.deployment_location);
    FindReferenceResponse response;
    if (request.deployment_location.properties.contains("non_finite")) {
      response.result = FoundReference{};
      response.result->resource_id = "r-1";
      response.result->outputs["huge"] = -HUGE_VAL;
      return response;
    }
    if (request.deployment_location.properties.contains("failed_without_details")) {
      response.result = FoundReference{};
      return response;
    }
    if (!request.deployment_location.properties.contains("latin1")) return {};
    response.result = FoundReference{};
    response.result->resource_id = "r-\xFF";
    response.result->outputs["text"] = "caf\xE9";
    return response;
  }

 private:
  static void behave(const DeploymentLocation& location) {
    if (const auto* delay = location.properties.if_contains("delay_ms");
        delay && delay->is_int64()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay->as_int64()));
    }
    const auto* fail = location.properties.if_contains("fail");
    if (!fail || !fail->is_string()) return;
    const std::string_view how = fail->get_string();
    if (how == "unreachable") throw UnreachableDeploymentLocationError("acme: no route to target");
    if (how == "temporary") throw TemporaryDriverError("acme: target busy");
    if (how == "error") throw ResourceDriverError("acme: target failed");
    if (how == "int") throw 42;              // not a std::exception
    if (how == "segv") std::raise(SIGSEGV);  // a crash, without undefined behaviour
  }

  std::string name_;
  std::string journal_;
  std::string greeting_;
  std::string location_;
  std::mutex mutex_;
  std::map<std::string, std::string> executions_;
};

ResourceDriverFactory factory(std::string name) {
  return [name](const DriverInstanceContext& context) -> std::unique_ptr<ResourceDriver> {
    if (context.target && context.target->properties.contains("fail_factory")) {
      throw UnreachableDeploymentLocationError("acme: cannot connect to " + context.target->name);
    }
    std::string generation;
    if (context.target) {
      if (const auto* value = context.target->properties.if_contains("generation");
          value && value->is_string()) {
        generation = value->get_string();
      }
    }
    return std::make_unique<AcmeDriver>(
        name, std::string(context.settings.find("journal").value_or("")),
        context.settings.text("greeting"), context.target ? context.target->name : "",
        std::move(generation));
  };
}

void register_drivers(DriverRegistrar& registrar) {
  const std::vector<SettingSpec> settings{
      {.name = "greeting",
       .type = SettingType::string,
       .default_value = "hello",
       .description = "Output of every execution"},
      {.name = "journal",
       .type = SettingType::string,
       .default_value = "",
       .description = "File where instances log their creation and closing"},
      {.name = "retries",
       .type = SettingType::integer,
       .default_value = "3",
       .description = "Unused; an integer setting"},
  };
  registrar.add_resource_driver({.name = "acme",
                                 .vendor = "Acme",
                                 .model = "X1",
                                 .version = "1.2.3",
                                 .description = "Test driver for Acme X1 appliances",
                                 .scope = InstanceScope::per_target,
                                 .settings = settings},
                                factory("acme"));
  registrar.add_resource_driver({.name = "acme-any",
                                 .vendor = "Acme",
                                 .model = "",
                                 .version = "1.2.3",
                                 .description = "Test driver for any Acme appliance",
                                 .scope = InstanceScope::shared,
                                 .settings = settings},
                                factory("acme-any"));
}

}  // namespace

FLINT_DRIVER_PLUGIN(register_drivers)
