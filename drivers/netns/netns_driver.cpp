#include "netns/netns_driver.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <flint/sdk/errors.hpp>
#include <flint/sdk/ids.hpp>
#include <flint/sdk/json.hpp>

#include "logging/logging.hpp"
#include "logging/thread_name.hpp"
#include "netns/kernel.hpp"
#include "netns/plan.hpp"
#include "netns/state_store.hpp"
#include "netns/tosca_template.hpp"

namespace flint::drivers::netns {
namespace {

// Why this process lacks what network namespaces need (checked at once, from
// its effective capabilities, without the probe `system_unavailable_reason` runs),
// or nullopt. Root has both; so may a service given them as ambient
// capabilities.
std::optional<std::string> missing_privileges() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (::syscall(SYS_capget, &header, data) != 0) return std::nullopt;  // cannot tell: try
  const auto has = [&](int cap) { return (data[cap / 32].effective & (1U << (cap % 32))) != 0; };
  std::string missing;
  for (const auto& [cap, name] :
       {std::pair{CAP_SYS_ADMIN, "CAP_SYS_ADMIN"}, std::pair{CAP_NET_ADMIN, "CAP_NET_ADMIN"}}) {
    if (!has(cap)) missing += (missing.empty() ? "" : " and ") + std::string(name);
  }
  if (missing.empty()) return std::nullopt;
  const uid_t user = ::geteuid();
  return "Flint's user (" + std::to_string(user) + ") lacks " + missing +
         ", which network namespaces need: " +
         (user == 0 ? "give the process back the capabilities its container or service manager "
                      "dropped"
                    : "run Flint as root, or give it those capabilities") +
         ", or set infrastructure_driver.driver to another driver";
}

namespace fs = std::filesystem;
using sdk::ExecutionStatus;
using sdk::FailureCode;

struct Failure {
  FailureCode code = FailureCode::infrastructure_error;
  std::string description;
};

// How a build or teardown ended.
struct Outcome {
  enum Kind { ok, stopped, failed } kind = ok;
  Failure failure;
};

std::string command_failure(const std::vector<std::string>& args, const CommandResult& result,
                            std::chrono::milliseconds timeout) {
  std::string text = "`" + describe_command(args) + "`";
  if (result.timed_out) {
    text += " timed out after " + std::to_string(timeout.count()) + " ms";
  } else if (result.exit_code < 0) {
    text += " could not run";
  } else {
    text += " failed (exit " + std::to_string(result.exit_code) + ")";
  }
  if (!result.error_output.empty()) text += ": " + result.error_output;
  return text;
}

std::string instance_name_of(const sdk::PropertyMap& system_properties) {
  for (const auto* key : {"resourceName", "resourceId"}) {
    if (const auto* property = system_properties.find(key)) {
      if (const auto text = property->as_string(); text && !text->empty()) {
        // Find takes only such names (`instanceName`): refused here, an
        // infrastructure could never be found.
        if (const auto problem = sdk::json::unusable_name(*text); !problem.empty()) {
          throw sdk::InvalidRequestError("systemProperties." + std::string(key) + ": " + problem);
        }
        return std::string(*text);
      }
    }
  }
  throw sdk::InvalidRequestError(
      "systemProperties.resourceName (or resourceId) is required: it names the infrastructure");
}

struct Infrastructure {
  InfrastructureRecord record;
  std::vector<std::string> tasks;  // request ids, by sequence
};

}  // namespace

struct NetnsDriver::Impl {
  Options options;
  StateStore store;
  std::shared_ptr<Kernel> kernel;

  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::string> queue;     // request ids to run, in order
  std::set<std::string> recovering;  // unfinished tasks found at construction
  bool stopping = false;
  std::atomic<bool> stop{false};
  std::map<std::string, Infrastructure, std::less<>> infrastructures;
  std::map<std::string, TaskRecord, std::less<>> tasks;
  std::thread worker;
  // Set when this process cannot create namespaces: creates are refused.
  std::optional<std::string> missing_privileges;

  explicit Impl(Options o) : options(std::move(o)), store(options.state_dir) {
    kernel = options.kernel
                 ? options.kernel
                 : make_system_kernel(store.scratch_directory(), options.command_timeout);
  }

  // ---- derived state (mutex held) ----

  const TaskRecord& task_at(const Infrastructure& infra, std::size_t index) const {
    return tasks.at(infra.tasks.at(index));
  }

  // Whether something of `infra` may exist in the kernel: it has a task
  // running or queued, or its last task left something.
  bool holds(const Infrastructure& infra) const { return holds_before(infra, infra.tasks.size()); }

  // Same, considering only the tasks before position `sequence`.
  bool holds_before(const Infrastructure& infra, std::size_t sequence) const {
    const auto end = std::min(sequence, infra.tasks.size());
    for (std::size_t i = 0; i < end; ++i) {
      if (task_at(infra, i).status == ExecutionStatus::in_progress) return true;
    }
    return end != 0 && task_at(infra, end - 1).holds_resources;
  }

  // Built and not being deleted.
  bool ready(const Infrastructure& infra) const {
    if (infra.tasks.empty()) return false;
    const auto& last = task_at(infra, infra.tasks.size() - 1);
    return last.operation == Operation::create && last.status == ExecutionStatus::complete;
  }

  const Infrastructure* holder_of(std::string_view instance) const {
    for (const auto& [id, infra] : infrastructures) {
      if (infra.record.instance_name == instance && holds(infra)) return &infra;
    }
    return nullptr;
  }

  std::size_t computes_in_use() const {
    std::size_t total = 0;
    for (const auto& [id, infra] : infrastructures) {
      if (holds(infra)) total += infra.record.computes;
    }
    return total;
  }

  // A kernel object already bearing one of the plan's names.
  std::optional<std::string> kernel_clash(const Plan& plan) const {
    for (const auto& ns : plan.namespaces) {
      if (kernel->namespace_exists(ns.name)) {
        return "network namespace '" + ns.name + "' (node '" + ns.node +
               "') already exists on this host";
      }
    }
    for (const auto& bridge : plan.bridges) {
      if (kernel->link_exists(bridge.name)) {
        return "interface '" + bridge.name + "' (node '" + bridge.node +
               "') already exists on this host";
      }
    }
    for (const auto& veth : plan.veths) {
      if (kernel->link_exists(veth.host_name)) {
        return "interface '" + veth.host_name + "' (node '" + veth.node +
               "') already exists on this host";
      }
    }
    return std::nullopt;
  }

  void save_or_throw(const TaskRecord& task) const {
    try {
      store.save(task);
    } catch (const std::exception& e) {
      throw sdk::InfrastructureError("netns driver: cannot record the task", e.what());
    }
  }

  // ---- loading ----

  void load() {
    for (auto& record : store.load_infrastructures()) {
      auto id = record.infrastructure_id;
      infrastructures.emplace(std::move(id), Infrastructure{std::move(record), {}});
    }
    std::vector<TaskRecord> loaded = store.load_tasks();
    std::sort(loaded.begin(), loaded.end(), [](const TaskRecord& a, const TaskRecord& b) {
      return std::tie(a.infrastructure_id, a.sequence) < std::tie(b.infrastructure_id, b.sequence);
    });
    for (auto& task : loaded) {
      const auto infra = infrastructures.find(task.infrastructure_id);
      if (infra == infrastructures.end()) continue;  // its infrastructure was never recorded
      infra->second.tasks.push_back(task.request_id);
      if (task.status == ExecutionStatus::in_progress) {
        recovering.insert(task.request_id);
        queue.push_back(task.request_id);
      }
      auto id = task.request_id;
      tasks.emplace(std::move(id), std::move(task));
    }
    // An infrastructure without a task: the process died between the two
    // writes of an accept, which never returned; nothing was built.
    for (auto it = infrastructures.begin(); it != infrastructures.end();) {
      if (it->second.tasks.empty()) {
        store.remove_infrastructure(it->first);
        it = infrastructures.erase(it);
      } else {
        ++it;
      }
    }
    std::error_code ignored;
    for (const auto& entry : fs::directory_iterator(store.scratch_directory(), ignored)) {
      fs::remove(entry.path(), ignored);
    }
  }

  // ---- worker ----

  void run() {
    for (;;) {
      std::string request_id;
      {
        std::unique_lock lock(mutex);
        wake.wait(lock, [&] { return stopping || !queue.empty(); });
        if (stopping) return;
        request_id = std::move(queue.front());
        queue.pop_front();
      }
      execute(request_id);
    }
  }

  void finish(const std::string& request_id, ExecutionStatus status, std::optional<Failure> failure,
              bool holds_resources) {
    std::lock_guard lock(mutex);
    auto& task = tasks.at(request_id);
    task.status = status;
    task.holds_resources = holds_resources;
    if (failure) task.failure = sdk::FailureDetails{failure->code, std::move(failure->description)};
    try {
      store.save(task);
    } catch (const std::exception&) {
      // The in-memory record answers polls; after a restart the task is
      // found unfinished and resolved again.
    }
  }

  std::optional<std::string> journal(const std::string& request_id, bool is_namespace,
                                     const std::string& name) {
    std::lock_guard lock(mutex);
    auto& task = tasks.at(request_id);
    (is_namespace ? task.created_namespaces : task.created_links).push_back(name);
    try {
      store.save(task);
    } catch (const std::exception& e) {
      return std::string("cannot record progress: ") + e.what();
    }
    return std::nullopt;
  }

  std::optional<std::string> command(const std::vector<std::string>& args) {
    const auto result = kernel->ip(args);
    if (result.ok()) return std::nullopt;
    return command_failure(args, result, options.command_timeout);
  }

  std::optional<std::string> remove_link(const std::string& name) {
    if (!kernel->link_exists(name)) return std::nullopt;
    const std::vector<std::string> args{"link", "del", name};
    const auto result = kernel->ip(args);
    if (result.ok() || !kernel->link_exists(name)) return std::nullopt;
    return command_failure(args, result, options.command_timeout);
  }

  std::optional<std::string> remove_namespace(const std::string& name) {
    if (!kernel->namespace_exists(name)) return std::nullopt;
    const std::vector<std::string> args{"netns", "del", name};
    const auto result = kernel->ip(args);
    if (result.ok() || !kernel->namespace_exists(name)) return std::nullopt;
    return command_failure(args, result, options.command_timeout);
  }

  Outcome build(const std::string& request_id, const Plan& plan) {
    Outcome outcome;
    const auto failed = [&](FailureCode code, std::string description) {
      outcome.kind = Outcome::failed;
      outcome.failure = {code, std::move(description)};
      return outcome;
    };
    const auto stopped = [&] {
      outcome.kind = Outcome::stopped;
      return outcome;
    };
    // Creates one object: refuses a name already taken, journals the name,
    // then runs the command.
    const auto create = [&](bool is_namespace, const std::string& name, const std::string& node,
                            const std::vector<std::string>& args) -> std::optional<Failure> {
      if (is_namespace ? kernel->namespace_exists(name) : kernel->link_exists(name)) {
        return Failure{FailureCode::resource_already_exists,
                       std::string(is_namespace ? "network namespace '" : "interface '") + name +
                           "' (node '" + node + "') already exists on this host"};
      }
      if (auto error = journal(request_id, is_namespace, name)) {
        return Failure{FailureCode::internal_error, std::move(*error)};
      }
      if (auto error = command(args)) return Failure{FailureCode::infrastructure_error, *error};
      return std::nullopt;
    };
    const auto step = [&](const std::vector<std::string>& args) -> std::optional<Failure> {
      if (auto error = command(args)) return Failure{FailureCode::infrastructure_error, *error};
      return std::nullopt;
    };

    for (const auto& ns : plan.namespaces) {
      if (stop) return stopped();
      if (auto f = create(true, ns.name, ns.node, {"netns", "add", ns.name})) {
        return failed(f->code, f->description);
      }
      if (auto f = step({"-n", ns.name, "link", "set", "lo", "up"})) {
        return failed(f->code, f->description);
      }
    }
    for (const auto& bridge : plan.bridges) {
      if (stop) return stopped();
      if (auto f = create(false, bridge.name, bridge.node,
                          {"link", "add", bridge.name, "type", "bridge"})) {
        return failed(f->code, f->description);
      }
      if (auto f = step({"link", "set", bridge.name, "up"})) return failed(f->code, f->description);
    }
    for (const auto& veth : plan.veths) {
      if (stop) return stopped();
      if (auto f = create(false, veth.host_name, veth.node,
                          {"link", "add", veth.host_name, "type", "veth", "peer", "name",
                           veth.peer_name, "netns", veth.namespace_name})) {
        return failed(f->code, f->description);
      }
      const std::vector<std::vector<std::string>> steps{
          {"link", "set", veth.host_name, "master", veth.bridge_name},
          {"link", "set", veth.host_name, "up"},
          {"-n", veth.namespace_name, "addr", "add", veth.address, "dev", veth.peer_name},
          {"-n", veth.namespace_name, "link", "set", veth.peer_name, "up"}};
      for (const auto& args : steps) {
        if (stop) return stopped();
        if (auto f = step(args)) return failed(f->code, f->description);
      }
    }
    return outcome;
  }

  // Removes everything the create task journaled; returns what could not be
  // removed (empty when everything is gone).
  std::string rollback(const std::string& request_id) {
    std::vector<std::string> links;
    std::vector<std::string> namespaces;
    {
      std::lock_guard lock(mutex);
      const auto& task = tasks.at(request_id);
      links = task.created_links;
      namespaces = task.created_namespaces;
    }
    std::string errors;
    const auto note = [&](std::optional<std::string> error) {
      if (!error) return;
      if (!errors.empty()) errors += "; ";
      errors += *error;
    };
    for (auto it = links.rbegin(); it != links.rend(); ++it) note(remove_link(*it));
    for (auto it = namespaces.rbegin(); it != namespaces.rend(); ++it) note(remove_namespace(*it));
    return errors;
  }

  Outcome teardown(const Plan& plan) {
    Outcome outcome;
    std::string errors;
    const auto note = [&](std::optional<std::string> error) {
      if (!error) return;
      if (!errors.empty()) errors += "; ";
      errors += *error;
    };
    // Host veth ends first: deleting one removes its peer, even when a
    // process still pins the namespace.
    for (const auto& veth : plan.veths) {
      if (stop) return {Outcome::stopped, {}};
      note(remove_link(veth.host_name));
    }
    for (const auto& ns : plan.namespaces) {
      if (stop) return {Outcome::stopped, {}};
      note(remove_namespace(ns.name));
    }
    for (const auto& bridge : plan.bridges) {
      if (stop) return {Outcome::stopped, {}};
      note(remove_link(bridge.name));
    }
    if (!errors.empty()) {
      outcome.kind = Outcome::failed;
      outcome.failure = {FailureCode::infrastructure_error, std::move(errors)};
    }
    return outcome;
  }

  void execute(const std::string& request_id) {
    TaskRecord task;
    InfrastructureRecord infra;
    bool recover = false;
    bool held = false;
    {
      std::lock_guard lock(mutex);
      task = tasks.at(request_id);
      const auto& owner = infrastructures.at(task.infrastructure_id);
      infra = owner.record;
      recover = recovering.erase(request_id) > 0;
      held = holds_before(owner, task.sequence);
    }
    if (task.operation == Operation::create) {
      if (recover) {
        const auto left = rollback(request_id);
        finish(request_id, ExecutionStatus::failed,
               Failure{FailureCode::infrastructure_error,
                       left.empty() ? "interrupted by a restart of the driver; everything it had "
                                      "built was removed"
                                    : "interrupted by a restart of the driver; rollback "
                                      "incomplete: " +
                                          left},
               !left.empty());
        return;
      }
      auto outcome = build(request_id, infra.plan);
      if (outcome.kind == Outcome::stopped) return;  // resolved by the next driver
      if (outcome.kind == Outcome::ok) {
        finish(request_id, ExecutionStatus::complete, std::nullopt, true);
        return;
      }
      const auto left = rollback(request_id);
      outcome.failure.description += left.empty() ? "; everything the task had built was removed"
                                                  : "; rollback incomplete: " + left;
      finish(request_id, ExecutionStatus::failed, std::move(outcome.failure), !left.empty());
      return;
    }
    if (!held) {  // nothing of it exists (its create failed cleanly)
      finish(request_id, ExecutionStatus::complete, std::nullopt, false);
      return;
    }
    auto outcome = teardown(infra.plan);
    if (outcome.kind == Outcome::stopped) return;
    if (outcome.kind == Outcome::ok) {
      finish(request_id, ExecutionStatus::complete, std::nullopt, false);
    } else {
      finish(request_id, ExecutionStatus::failed, std::move(outcome.failure), true);
    }
  }
};

NetnsDriver::NetnsDriver(Options options) {
  validate_prefix(options.prefix);
  if (options.state_dir.empty()) throw std::invalid_argument("netns driver: state_dir is required");
  if (options.command_timeout.count() <= 0) {
    throw std::invalid_argument("netns driver: command_timeout must be positive");
  }
  const bool real_system = !options.kernel;
  impl_ = std::make_unique<Impl>(std::move(options));
  if (real_system) {
    impl_->missing_privileges = missing_privileges();
    if (impl_->missing_privileges) {
      logging::logger("driver.netns")
          ->warn("netns driver: every create will be refused: {}", *impl_->missing_privileges);
    }
  }
  impl_->load();
  impl_->worker =
      logging::start_thread("the netns driver's thread", [impl = impl_.get()] { impl->run(); });
}

NetnsDriver::~NetnsDriver() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
    impl_->stop = true;
  }
  impl_->wake.notify_all();
  if (impl_->worker.joinable()) impl_->worker.join();
}

std::string NetnsDriver::unavailable_reason() const {
  return impl_->missing_privileges.value_or("");
}

std::optional<std::string> NetnsDriver::system_unavailable_reason() {
  static const std::optional<std::string> reason = []() -> std::optional<std::string> {
    if (auto missing = missing_privileges()) return missing;
    if (!find_ip_binary()) return "no `ip` binary (iproute2) in /usr/sbin, /sbin, /usr/bin or /bin";
    std::string pattern = (fs::temp_directory_path() / "flint-netns-probe-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) return "cannot create a temporary directory";
    const fs::path scratch(pattern);
    const auto kernel = make_system_kernel(scratch, std::chrono::seconds(10));
    const std::string probe = "flint-probe-" + std::to_string(::getpid());
    std::optional<std::string> problem;
    const auto check = [&](const std::vector<std::string>& args, std::string_view what) {
      if (problem) return;
      const auto result = kernel->ip(args);
      if (!result.ok()) {
        problem =
            std::string(what) + ": " + command_failure(args, result, std::chrono::seconds(10));
      }
    };
    check({"netns", "add", probe}, "`ip netns add` is not permitted");
    check({"-n", probe, "link", "add", "probe0", "type", "veth", "peer", "name", "probe1"},
          "veth pairs cannot be created");
    check({"-n", probe, "link", "add", "probebr", "type", "bridge"}, "bridges cannot be created");
    if (kernel->namespace_exists(probe)) kernel->ip({"netns", "del", probe});
    std::error_code ignored;
    fs::remove_all(scratch, ignored);
    return problem;
  }();
  return reason;
}

sdk::InfrastructureTaskAccepted NetnsDriver::create_infrastructure(
    const sdk::CreateInfrastructureRequest& request, sdk::CallContext& context) {
  if (impl_->missing_privileges) {
    throw sdk::InfrastructureError("netns driver: cannot create here: " +
                                   *impl_->missing_privileges);
  }
  check_template_type(request.template_type);
  const auto model = parse_tosca_template(request.template_text, request.properties);
  const auto instance = instance_name_of(request.system_properties);
  InfrastructureRecord record;
  record.infrastructure_id = sdk::new_time_ordered_id();
  record.instance_name = instance;
  record.computes = model.computes.size();
  record.plan = make_plan(model, impl_->options.prefix, instance);
  record.outputs = evaluate_outputs(model, record.plan.attributes);
  record.inputs = output_inputs(model);

  TaskRecord task;
  task.request_id = sdk::new_time_ordered_id();
  task.infrastructure_id = record.infrastructure_id;
  task.operation = Operation::create;

  auto& impl = *impl_;
  std::lock_guard lock(impl.mutex);
  std::optional<Failure> rejection;
  if (const auto* holder = impl.holder_of(instance)) {
    rejection = Failure{FailureCode::resource_already_exists,
                        "an infrastructure named '" + instance + "' already exists (" +
                            holder->record.infrastructure_id + ")"};
  } else if (auto clash = impl.kernel_clash(record.plan)) {
    rejection = Failure{FailureCode::resource_already_exists, std::move(*clash)};
  } else if (const auto used = impl.computes_in_use();
             used + record.computes > impl.options.max_computes) {
    rejection = Failure{
        FailureCode::insufficient_capacity,
        "the template needs " + std::to_string(record.computes) +
            " network namespace(s) but only " +
            std::to_string(impl.options.max_computes - std::min(used, impl.options.max_computes)) +
            " of max_computes=" + std::to_string(impl.options.max_computes) + " are free"};
  }
  if (rejection) {
    task.status = ExecutionStatus::failed;
    task.failure = sdk::FailureDetails{rejection->code, rejection->description};
  }
  try {
    impl.store.save(record);
  } catch (const std::exception& e) {
    throw sdk::InfrastructureError("netns driver: cannot record the infrastructure", e.what());
  }
  try {
    impl.store.save(task);
  } catch (const std::exception& e) {
    impl.store.remove_infrastructure(record.infrastructure_id);
    throw sdk::InfrastructureError("netns driver: cannot record the task", e.what());
  }
  sdk::InfrastructureTaskAccepted accepted{record.infrastructure_id, task.request_id};
  auto infra_id = record.infrastructure_id;
  impl.infrastructures.emplace(infra_id, Infrastructure{std::move(record), {task.request_id}});
  const bool queued = task.status == ExecutionStatus::in_progress;
  impl.tasks.emplace(task.request_id, std::move(task));
  if (queued) {
    impl.queue.push_back(accepted.request_id);
    impl.wake.notify_all();
  }
  context.info(
      "netns: accepted create of '" + instance + "' as infrastructure " +
          accepted.infrastructure_id + ", request " + accepted.request_id +
          (rejection ? " (fails: " + rejection->description + ")" : ""),
      {{"infrastructureId", accepted.infrastructure_id}, {"requestId", accepted.request_id}});
  return accepted;
}

sdk::InfrastructureTask NetnsDriver::get_infrastructure_task(std::string_view infrastructure_id,
                                                             std::string_view request_id,
                                                             const sdk::DeploymentLocation&,
                                                             sdk::CallContext&) {
  std::lock_guard lock(impl_->mutex);
  const auto infra = impl_->infrastructures.find(infrastructure_id);
  if (infra == impl_->infrastructures.end()) {
    throw sdk::InfrastructureNotFoundError("no infrastructure '" + std::string(infrastructure_id) +
                                           "'");
  }
  const auto task = impl_->tasks.find(request_id);
  if (task == impl_->tasks.end() || task->second.infrastructure_id != infrastructure_id) {
    throw sdk::RequestNotFoundError("no request '" + std::string(request_id) +
                                    "' for infrastructure '" + std::string(infrastructure_id) +
                                    "'");
  }
  const auto& record = task->second;
  switch (record.status) {
    case ExecutionStatus::in_progress:
      return sdk::InfrastructureTask::in_progress(std::string(infrastructure_id),
                                                  std::string(request_id));
    case ExecutionStatus::complete:
      return sdk::InfrastructureTask::complete(
          std::string(infrastructure_id), std::string(request_id),
          record.operation == Operation::create ? infra->second.record.outputs
                                                : boost::json::object());
    case ExecutionStatus::failed:
      break;
  }
  const auto details = record.failure.value_or(
      sdk::FailureDetails{FailureCode::internal_error, "failed without details"});
  return sdk::InfrastructureTask::failed(std::string(infrastructure_id), std::string(request_id),
                                         details.code, details.description);
}

sdk::InfrastructureTaskAccepted NetnsDriver::delete_infrastructure(
    std::string_view infrastructure_id, const sdk::DeploymentLocation&, sdk::CallContext& context) {
  auto& impl = *impl_;
  std::lock_guard lock(impl.mutex);
  const auto it = impl.infrastructures.find(infrastructure_id);
  if (it == impl.infrastructures.end()) {
    throw sdk::InfrastructureNotFoundError("no infrastructure '" + std::string(infrastructure_id) +
                                           "'");
  }
  auto& infra = it->second;
  const auto& last = impl.task_at(infra, infra.tasks.size() - 1);
  if (!impl.holds(infra) && last.operation == Operation::remove &&
      last.status == ExecutionStatus::complete) {
    throw sdk::InfrastructureNotFoundError("infrastructure '" + std::string(infrastructure_id) +
                                           "' was deleted");
  }
  TaskRecord task;
  task.request_id = sdk::new_time_ordered_id();
  task.infrastructure_id = std::string(infrastructure_id);
  task.operation = Operation::remove;
  task.sequence = infra.tasks.size();
  impl.save_or_throw(task);
  infra.tasks.push_back(task.request_id);
  sdk::InfrastructureTaskAccepted accepted{task.infrastructure_id, task.request_id};
  impl.tasks.emplace(task.request_id, std::move(task));
  impl.queue.push_back(accepted.request_id);
  impl.wake.notify_all();
  context.info(
      "netns: accepted delete of infrastructure " + accepted.infrastructure_id + ", request " +
          accepted.request_id,
      {{"infrastructureId", accepted.infrastructure_id}, {"requestId", accepted.request_id}});
  return accepted;
}

sdk::FindInfrastructureResponse NetnsDriver::find_infrastructure(
    const sdk::FindInfrastructureRequest& request, sdk::CallContext&) {
  check_template_type(request.template_type);
  const auto model =
      parse_tosca_template(request.template_text, sdk::PropertyMap{}, InputResolution::lenient);
  std::optional<InfrastructureRecord> found;
  {
    std::lock_guard lock(impl_->mutex);
    for (const auto& [id, infra] : impl_->infrastructures) {
      if (infra.record.instance_name == request.instance_name && impl_->ready(infra)) {
        found = infra.record;
        break;
      }
    }
  }
  if (!found) return {};
  for (const auto& ns : found->plan.namespaces) {
    if (!impl_->kernel->namespace_exists(ns.name)) return {};
  }
  if (!nodes_match(model, found->plan.attributes)) return {};
  return {sdk::FoundInfrastructure{found->infrastructure_id,
                                   evaluate_outputs(model, found->plan.attributes, found->inputs)}};
}

}  // namespace flint::drivers::netns
