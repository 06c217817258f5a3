#include "service/lifecycle_monitor.hpp"

#include <algorithm>
#include <ctime>
#include <shared_mutex>
#include <stdexcept>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <flint/sdk/ids.hpp>
#include <flint/sdk/json.hpp>

#include "drivers/driver_executor.hpp"
#include "drivers/guarded_call.hpp"
#include "drivers/host_call_context.hpp"
#include "drivers/operator_message.hpp"
#include "logging/logging.hpp"
#include "security/digest.hpp"
#include "service/monitoring_jobs.hpp"

namespace flint::service {

namespace json = boost::json;

namespace {

// Queues the terminal event of `request_id` (once: a second one with the
// same derived id is ignored), stamped `at`.
void add_terminal_event(store::Database& db, std::string_view request_id,
                        const std::string& tenant_id, const std::string& payload, std::int64_t at) {
  auto event = db.prepare(
      "INSERT OR IGNORE INTO outbox (event_id, topic, event_key, tenant_id, payload, created_at) "
      "VALUES (?, ?, ?, ?, ?, ?)");
  event.bind(1, LifecycleMonitor::terminal_event_id(request_id))
      .bind(2, LifecycleMonitor::kTopic)
      .bind(3, request_id)
      .bind(5, payload)
      .bind(6, at);
  if (!tenant_id.empty()) event.bind(4, tenant_id);
  event.run();
}

}  // namespace

// The time prefix matters for more than sorting: the event log's index of
// ids then grows at its end, like its table, where random ids would rewrite
// (and, once the log outgrows the page cache, read) a random page of it per
// event.
std::string LifecycleMonitor::terminal_event_id(std::string_view request_id) {
  // Built by hand: it runs in the store writer's commit, once per ending.
  std::string input;
  input.reserve(kTopic.size() + 1 + request_id.size());
  input.append(kTopic).append(1, '\n').append(request_id);
  std::string hex = security::sha256_hex(input);
  if (sdk::is_time_ordered_id(request_id)) {
    hex.replace(0, 8, request_id.substr(0, 8));
    hex.replace(8, 4, request_id.substr(9, 4));
  }
  hex[12] = '8';
  const char variant = hex[16];
  const int nibble = variant <= '9' ? variant - '0' : variant - 'a' + 10;  // lower-case hex
  hex[16] = "89ab"[nibble & 3];
  std::string id;
  id.reserve(36);
  for (const auto& [from, count] : {std::pair{0, 8}, {8, 4}, {12, 4}, {16, 4}, {20, 12}}) {
    if (from != 0) id.push_back('-');
    id.append(hex, from, count);
  }
  return id;
}

// A deployment location and the driver target serving it.
struct LifecycleMonitor::Placement {
  sdk::DeploymentLocation location;
  // Null only for an execution whose job could not be read (it is failed).
  std::shared_ptr<const drivers::DriverManager::Target> driver;
};

// What a poll needs, decoded once from the sealed job payload.
struct LifecycleMonitor::Target {
  std::string request_id;
  // The driver's own id, when it differs (a request promised an id first).
  std::string driver_request_id;
  std::chrono::steady_clock::time_point deadline;
  // Shared by every execution at the same location (see intern_placement).
  std::shared_ptr<const Placement> placement;
  logging::LogFields log_fields;
  std::string tenant_id;
  // Whether a poll started before its run expired (the breaker's business).
  mutable drivers::GuardedPoll poll;
};

// Drivers keep it for as long as their executions run, which may outlast the
// monitor (a driver's own thread, at a stop): it then drops their reports.
class LifecycleMonitor::Reporter final : public sdk::ExecutionReporter {
 public:
  explicit Reporter(LifecycleMonitor& monitor) : monitor_(&monitor) {}
  void report(sdk::LifecycleExecution execution) override {
    if (!sdk::is_terminal(execution.status)) return;
    std::shared_lock lock(mutex_);
    // Without a monitor the execution stays active in the store, and the
    // next start polls it.
    if (monitor_) monitor_->pushed(std::move(execution));
  }
  // Waits for the reports in progress; later ones are dropped.
  void detach() {
    std::unique_lock lock(mutex_);
    monitor_ = nullptr;
  }

 private:
  std::shared_mutex mutex_;
  LifecycleMonitor* monitor_;
};

LifecycleMonitor::LifecycleMonitor(store::Store& store, jobs::JobScheduler& scheduler,
                                   drivers::DriverPools& pools, drivers::DriverManager& drivers,
                                   const drivers::DriverCatalog& catalog,
                                   std::string fallback_driver,
                                   const security::CredentialVault& vault, MonitorOptions options,
                                   std::function<void()> notify_outbox,
                                   prometheus::Registry& registry)
    : store_(store),
      scheduler_(scheduler),
      pools_(pools),
      drivers_(drivers),
      catalog_(catalog),
      fallback_driver_(std::move(fallback_driver)),
      vault_(vault),
      options_(options),
      notify_outbox_(std::move(notify_outbox)),
      reporter_(std::make_shared<Reporter>(*this)),
      log_(logging::logger("monitor")),
      ended_(prometheus::BuildCounter()
                 .Name("flint_lifecycle_executions_ended_total")
                 .Help("Lifecycle executions whose monitoring ended, by outcome: complete, failed "
                       "(event sent) or request_not_found (stopped, no event)")
                 .Register(registry)),
      ended_complete_(ended_.Add({{"outcome", "complete"}})),
      ended_failed_(ended_.Add({{"outcome", "failed"}})),
      ended_not_found_(ended_.Add({{"outcome", "request_not_found"}})) {
  scheduler_.register_kind(
      std::string(kJobKind), options_.polling,
      [this](jobs::Job& job, jobs::JobRun run) { poll(job, run); },
      [this](const jobs::Job& job) {
        // Only a driver call is bounded: a poll that overran its deadline,
        // or one still queued then (it never reached the target).
        auto target = std::static_pointer_cast<const Target>(job.state);
        const bool started =
            !target || !target->placement->driver ||
            target->poll.expired(job.attempts, drivers_, *target->placement->driver);
        static const logging::LogFields kNoFields;  // a job resumed from the store
        logging::ScopedLogContext scope(target ? target->log_fields : kNoFields);
        log_->debug("execution {}: the poll {}; retrying", job.subject,
                    started ? "did not finish within its deadline"
                            : "waited for a driver thread past its deadline (driver calls are "
                              "saturated)");
      });
}

LifecycleMonitor::~LifecycleMonitor() {
  reporter_->detach();
}

std::shared_ptr<sdk::ExecutionReporter> LifecycleMonitor::reporter() const {
  return reporter_;
}

AcceptedExecution LifecycleMonitor::acceptance(std::string_view lifecycle_name,
                                               const sdk::DeploymentLocation& location,
                                               const sdk::LifecycleExecuteResponse& response,
                                               const CallOrigin& origin,
                                               const drivers::DriverManager::Target& driver) const {
  const std::string& driver_name = driver.driver->info.name;
  const std::int64_t now = now_ms();
  const std::string& request_id =
      origin.promised_request_id.empty() ? response.request_id : origin.promised_request_id;
  AcceptedExecution execution{
      .request_id = request_id,
      .driver = driver_name,
      .lifecycle_name = std::string(lifecycle_name),
      .tenant_id = origin.tenant_id,
      .accepted_at = now,
      .deadline_at = now + options_.total_timeout.count(),
      .associated_topology = sdk::json::encode(response.associated_topology),
      .job = {{"driver", driver_name},
              {"deploymentLocation", sdk::json::encode(location)},
              {"logFields", encode_log_fields(origin.log_fields)},
              {"tenantId", origin.tenant_id}}};
  if (request_id != response.request_id) execution.job["driverRequestId"] = response.request_id;
  if (const std::size_t repaired = sdk::json::repair_utf8(execution.associated_topology)) {
    log_->warn(
        "execution {}: {} names or ids of driver '{}''s associatedTopology are not valid UTF-8; "
        "each bad byte is replaced with U+FFFD",
        request_id, repaired, driver_name);
  }
  return execution;
}

store::Store::Write LifecycleMonitor::acceptance_write(
    std::shared_ptr<const AcceptedExecution> execution) const {
  // The location holds credentials: only its sealed form reaches the disk.
  auto payload = std::make_shared<std::string>(vault_.seal(json::serialize(execution->job)));
  return [execution = std::move(execution), payload](store::Database& db) {
    insert_execution(db, *execution, /*if_absent=*/false, payload.get());
  };
}

std::exception_ptr LifecycleMonitor::acceptance_error(const std::string& request_id,
                                                      const std::exception_ptr& failure) const {
  try {
    std::rethrow_exception(failure);
  } catch (const store::SqliteError& e) {
    if (e.code() == SQLITE_CONSTRAINT) {
      return std::make_exception_ptr(
          sdk::ResourceDriverError(fmt::format("request id {} was accepted before", request_id)));
    }
    log_->error("cannot record execution {}: {}", request_id, e.what());
    return std::make_exception_ptr(sdk::TemporaryDriverError(
        e.disk_full() ? "the execution cannot be recorded: the disk is full"
                      : "the execution cannot be recorded now; retry later"));
  } catch (...) {
    return std::current_exception();
  }
}

void LifecycleMonitor::accept(std::string_view lifecycle_name,
                              const sdk::DeploymentLocation& location,
                              const sdk::LifecycleExecuteResponse& response,
                              const CallOrigin& origin,
                              std::shared_ptr<const drivers::DriverManager::Target> driver,
                              Accepted done) {
  auto execution = std::make_shared<const AcceptedExecution>(
      acceptance(lifecycle_name, location, response, origin, *driver));
  // Bounded like an outcome: it is stored, replicated and sent back whole.
  if (const std::size_t size = json::serialize(execution->associated_topology).size();
      size > options_.max_outcome_size) {
    const std::string why =
        oversized_acceptance(driver->driver->info.name, size, options_.max_outcome_size);
    log_->error("execution {}: {}", execution->request_id, why);
    auto error = std::make_exception_ptr(sdk::ResourceDriverError(why));  // see run_then
    done(std::move(error));
    return;
  }
  if (cluster_) {
    // Kafka's acknowledgement is awaited on a driver thread of its own: the
    // driver's call is over, and a slow broker must not count against it.
    // The owner of its partition schedules it, when the state topic brings it.
    drivers::DriverExecutor& pool = pools_.for_driver(driver->driver->info.name);
    const bool queued = pool.submit({driver->driver->info.name, "record_acceptance",
                                     std::chrono::steady_clock::time_point::max()},
                                    [this, execution, done, why_not = origin.why_not_record] {
                                      std::exception_ptr failure;
                                      try {
                                        if (const char* why = why_not ? why_not() : nullptr) {
                                          throw sdk::TemporaryDriverError(why);
                                        }
                                        accept_in_cluster(*execution);
                                      } catch (...) {
                                        failure = std::current_exception();
                                      }
                                      done(failure);
                                    });
    if (!queued) {
      done(std::make_exception_ptr(drivers::CallRejected(
          "driver calls are saturated: the execution cannot be recorded now; retry later")));
    }
    return;
  }
  // What the polls need is built here, on the driver thread: the store
  // writer, which every 202 waits for, only schedules it once committed.
  auto target =
      monitoring_target(*execution, response.request_id, origin.log_fields, std::move(driver));
  store_.write_async(
      acceptance_write(execution),
      [this, execution, done = std::move(done), target = std::move(target),
       reports_completion = response.reports_completion](std::exception_ptr failure) mutable {
        if (failure) {
          logging::ScopedLogContext scope(target->log_fields);  // for the error it logs
          done(acceptance_error(execution->request_id, failure));
          return;
        }
        schedule_accepted(std::move(target), reports_completion);
        done(nullptr);
      });
}

std::shared_ptr<LifecycleMonitor::Target> LifecycleMonitor::monitoring_target(
    const AcceptedExecution& execution, const std::string& driver_request_id,
    const logging::LogFields& log_fields,
    std::shared_ptr<const drivers::DriverManager::Target> driver) {
  // The job starts decoded: polls never open the sealed payload, which only
  // a restart reads back (from the store).
  auto target = std::make_shared<Target>();
  target->request_id = execution.request_id;
  target->driver_request_id = driver_request_id;
  target->deadline = running_deadline(execution.deadline_at, options_.total_timeout);
  const drivers::RegisteredDriver& registered = *driver->driver;
  target->placement =
      intern_placement(registered, execution.job.at("deploymentLocation"), std::move(driver));
  target->log_fields = log_fields;
  target->tenant_id = execution.tenant_id;
  return target;
}

void LifecycleMonitor::schedule_accepted(std::shared_ptr<Target> target, bool reports_completion) {
  bool already_pushed;
  {
    std::lock_guard lock(mutex_);
    if (target->driver_request_id != target->request_id) {
      remember_driver_id(*target);
      // A report that came before, under the driver's id, is this job's.
      if (auto early = pushed_.extract(target->driver_request_id)) {
        early.key() = target->request_id;
        pushed_.insert(std::move(early));
      }
    }
    already_pushed = pushed_.contains(target->request_id);
  }
  // A driver that reports completion itself is not polled: its job only
  // wakes on the report, or at the total deadline as a watchdog.
  const auto steady_now = std::chrono::steady_clock::now();
  const auto due = already_pushed       ? steady_now
                   : reports_completion ? steady_now + options_.total_timeout
                                        : steady_now + options_.polling.min_interval;
  std::string request_id = target->request_id;
  const auto deadline = target->deadline;
  scheduler_.schedule({kJobKind, request_id, {}, {}, deadline, 0, std::move(target)}, due);
  if (already_pushed) return;
  // A report that came between the check above and the schedule woke no
  // job (there was none yet): a script that ended at once would wait for
  // the watchdog, at the total timeout. Wake it now. (One that comes after
  // this check wakes the job itself.)
  bool pushed_meanwhile;
  bool unmatched_reports;
  {
    std::lock_guard lock(mutex_);
    pushed_meanwhile = pushed_.contains(request_id);
    unmatched_reports = !unmatched_reports_.empty();
  }
  if (pushed_meanwhile) scheduler_.wake(kJobKind, request_id);
  if (unmatched_reports) report_unmatched(steady_now);
}

std::size_t LifecycleMonitor::resume() {
  // After a restart every job is polled: a push reporter did not survive it.
  auto executions = store_.read(monitored_executions);
  std::vector<jobs::Job> jobs;
  jobs.reserve(executions.size());
  for (auto& execution : executions) {
    jobs.push_back({kJobKind,
                    std::move(execution.request_id),
                    std::move(execution.sealed_job),
                    {},
                    running_deadline(execution.deadline_at, options_.total_timeout),
                    0,
                    {}});
    // Oldest first: each location's newest recorded properties become its
    // current ones (credentials may have rotated since the oldest was accepted).
    try {
      const auto& placement = *target_of(jobs.back())->placement;
      if (placement.driver) drivers_.remember(*placement.driver, placement.location);
    } catch (const std::exception&) {
      // Polled, it fails with the reason.
    }
  }
  const auto now = std::chrono::steady_clock::now();
  for (auto& job : jobs) scheduler_.schedule(std::move(job), now);
  return jobs.size();
}

void LifecycleMonitor::join_cluster(ClusterLink& cluster) {
  cluster_ = &cluster;
}

void LifecycleMonitor::accept_in_cluster(const AcceptedExecution& execution) {
  try {
    cluster_->publish_accepted(execution);
  } catch (const std::exception& e) {
    log_->error("cannot record execution {} in the cluster: {}", execution.request_id, e.what());
    throw sdk::TemporaryDriverError(fmt::format(
        "the execution cannot be recorded in the cluster now ({}); retry later", e.what()));
  }
  // Kafka has it: the record and its monitoring are safe. The local copy is
  // only so that this node answers a status request at once; the state
  // topic brings it (and its end) to every node anyway.
  try {
    store_.write([&](store::Database& db) {
      insert_execution(db, execution, /*if_absent=*/true, /*sealed_job=*/nullptr);
    });
  } catch (const std::exception& e) {
    log_->warn("execution {}: local record deferred to the state topic: {}", execution.request_id,
               e.what());
  }
}

void LifecycleMonitor::adopt(const AcceptedExecution& execution,
                             std::chrono::steady_clock::time_point due) {
  jobs::Job job{kJobKind,
                execution.request_id,
                {},
                {},
                running_deadline(execution.deadline_at, options_.total_timeout),
                0,
                {}};
  try {
    job.state = decode_target(execution.request_id, job.deadline, execution.job);
  } catch (const std::exception& e) {
    // Polled once, it fails with the reason (see poll): never left waiting.
    log_->error("execution {}: cannot decode its monitoring job: {}", execution.request_id,
                e.what());
    job.payload = "undecodable";
  }
  {
    std::lock_guard lock(mutex_);
    held_.emplace(execution.request_id, execution.accepted_at);
  }
  // The delivery of its event is stamped on this node's copy of the record,
  // which the view may bring only after this node ended it: made here
  // first (queued before any ending of it), else the stamp would be lost.
  store_.write_async(
      [execution](store::Database& db) {
        insert_execution(db, execution, /*if_absent=*/true, /*sealed_job=*/nullptr);
      },
      [log = log_, request_id = execution.request_id](std::exception_ptr failure) {
        if (!failure) return;
        try {
          std::rethrow_exception(failure);
        } catch (const std::exception& e) {
          log->warn("execution {}: local record deferred to the state topic: {}", request_id,
                    e.what());
        }
      });
  scheduler_.schedule(std::move(job), due);
}

void LifecycleMonitor::release(const std::string& request_id) {
  {
    std::lock_guard lock(mutex_);
    if (held_.erase(request_id) == 0) return;
    forget(request_id);
  }
  scheduler_.cancel(kJobKind, request_id);
}

std::size_t LifecycleMonitor::held() const {
  std::lock_guard lock(mutex_);
  return held_.size();
}

bool LifecycleMonitor::holds(const std::string& request_id) const {
  std::lock_guard lock(mutex_);
  return held_.contains(request_id);
}

void LifecycleMonitor::remember_driver_id(const Target& target) {
  if (target.driver_request_id == target.request_id) return;
  // A driver that gave one id to two runs: its reports go to the first.
  if (job_of_driver_id_.try_emplace(target.driver_request_id, target.request_id).second) {
    driver_id_of_job_.insert_or_assign(target.request_id, target.driver_request_id);
  }
}

void LifecycleMonitor::forget(const std::string& request_id) {
  pushed_.erase(request_id);
  if (auto it = driver_id_of_job_.find(request_id); it != driver_id_of_job_.end()) {
    job_of_driver_id_.erase(it->second);
    driver_id_of_job_.erase(it);
  }
}

void LifecycleMonitor::pushed(sdk::LifecycleExecution execution) {
  // The driver reports under its own id of the run; the job may have another.
  const std::string reported = execution.request_id;
  const auto job_of = [&] {
    const auto it = job_of_driver_id_.find(reported);
    return it == job_of_driver_id_.end() ? reported : it->second;
  };
  std::string request_id;
  {
    std::lock_guard lock(mutex_);
    request_id = job_of();
  }
  // In a cluster, only the node that holds the job can act on a report;
  // the others leave it to their polls.
  if (cluster_ && !holds(request_id)) return;
  // A report for an execution already ended (the host gave up on it first)
  // changes nothing. An unknown id may be one whose acceptance is still
  // being committed: keep it for the job about to be scheduled.
  const auto monitoring = monitoring_state(request_id);
  if (monitoring && *monitoring != "active") return;  // ended
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    request_id = job_of();  // its job may have been scheduled meanwhile
    if (!monitoring) {
      // Bounded: a flood of early reports (scripts that end at once) goes
      // unchecked past this, rather than held for the whole grace period.
      if (unmatched_reports_.size() >= 10'000) unmatched_reports_.pop_front();
      unmatched_reports_.emplace_back(now, request_id);
    }
    pushed_.try_emplace(request_id, PushedReport{std::move(execution), now});  // the first counts
    if (pushed_.size() >= pushed_swept_size_) {
      std::erase_if(pushed_, [&](const auto& entry) {
        return now - entry.second.arrived > options_.total_timeout;
      });
      pushed_swept_size_ = std::max<std::size_t>(64, 2 * pushed_.size());
    }
  }
  scheduler_.wake(kJobKind, request_id);
  report_unmatched(now);
}

std::optional<std::string> LifecycleMonitor::monitoring_state(const std::string& request_id) const {
  return store_.read([&](store::Database& db) -> std::optional<std::string> {
    auto select = db.prepare("SELECT monitoring FROM executions WHERE request_id = ?");
    select.bind(1, request_id);
    if (!select.step()) return std::nullopt;
    return std::string(select.column_text(0));
  });
}

void LifecycleMonitor::report_unmatched(std::chrono::steady_clock::time_point now) {
  // Long past any acceptance still being committed (an execute call's
  // deadline, and its commit).
  const auto grace = 2 * options_.call_timeout;
  std::vector<std::string> overdue;
  {
    std::lock_guard lock(mutex_);
    while (!unmatched_reports_.empty() && now - unmatched_reports_.front().first >= grace) {
      // A poll took the report: its execution was accepted after all.
      if (pushed_.contains(unmatched_reports_.front().second)) {
        overdue.push_back(std::move(unmatched_reports_.front().second));
      }
      unmatched_reports_.pop_front();
    }
  }
  for (const std::string& id : overdue) {
    if (monitoring_state(id)) continue;
    log_->warn(
        "a driver reported an outcome for request id '{}', and no execution has that id {} s "
        "later: a report must carry the request id execute_lifecycle returned; it is ignored",
        sdk::json::printable(id), std::chrono::duration_cast<std::chrono::seconds>(grace).count());
  }
}

std::shared_ptr<const LifecycleMonitor::Placement> LifecycleMonitor::intern_placement(
    const drivers::RegisteredDriver& driver, const json::value& encoded_location,
    std::shared_ptr<const drivers::DriverManager::Target> known_target) {
  std::string key = driver.info.name + '\n' + json::serialize(encoded_location);
  std::lock_guard lock(mutex_);
  auto& slot = placements_[key];
  if (auto shared = slot.lock()) return shared;
  auto placement = std::make_shared<Placement>();
  placement->location =
      sdk::json::decode_deployment_location(encoded_location, "deploymentLocation");
  placement->driver =
      known_target ? std::move(known_target) : drivers_.target(driver, placement->location);
  slot = placement;
  // Forget placements no execution uses any more, once they could be half the map.
  if (placements_.size() >= 2 * placements_swept_size_) {
    std::erase_if(placements_, [](const auto& entry) { return entry.second.expired(); });
    placements_swept_size_ = std::max<std::size_t>(placements_.size(), 64);
  }
  return placement;
}

std::shared_ptr<const LifecycleMonitor::Target> LifecycleMonitor::target_of(jobs::Job& job) {
  if (job.state) return std::static_pointer_cast<const Target>(job.state);
  if (cluster_) throw std::runtime_error("its job record could not be decoded");
  auto target = decode_target(job.subject, job.deadline,
                              sdk::json::parse_stored(vault_.open(job.payload)).as_object());
  // Decoded for good: the sealed copy is only needed again after a restart,
  // which reads it from the store. Memory per execution in flight matters.
  std::string().swap(job.payload);
  job.state = target;
  return target;
}

std::shared_ptr<const LifecycleMonitor::Target> LifecycleMonitor::decode_target(
    const std::string& request_id, std::chrono::steady_clock::time_point deadline,
    const json::object& value) {
  auto target = std::make_shared<Target>();
  target->request_id = request_id;
  target->deadline = deadline;
  // Executions recorded by Flint 0.1 name no driver: the host served one.
  const auto* named = value.if_contains("driver");
  const std::string driver_name = named ? std::string(named->as_string()) : fallback_driver_;
  const drivers::RegisteredDriver* driver = catalog_.find(driver_name);
  if (!driver) {
    throw std::runtime_error("driver '" + driver_name +
                             "', which accepted it, is not loaded any more");
  }
  target->placement = intern_placement(*driver, value.at("deploymentLocation"));
  target->log_fields = decode_log_fields(value.at("logFields"));
  target->tenant_id = value.at("tenantId").as_string();
  const auto* driver_request_id = value.if_contains("driverRequestId");
  target->driver_request_id =
      driver_request_id ? std::string(driver_request_id->as_string()) : request_id;
  std::lock_guard lock(mutex_);
  remember_driver_id(*target);
  return target;
}

void LifecycleMonitor::poll(jobs::Job& job, jobs::JobRun run) {
  // In a cluster, a job this node no longer holds has nothing to do: its
  // execution ended in a run that had been cancelled and taken back (a
  // rebalance in the middle of a poll), or it went to another node.
  if (cluster_ && !holds(job.subject)) {
    run.finish(jobs::JobStep::finished);
    return;
  }
  std::optional<sdk::LifecycleExecution> outcome;
  {
    std::lock_guard lock(mutex_);
    if (auto it = pushed_.find(job.subject); it != pushed_.end()) {
      outcome = std::move(it->second.execution);
      pushed_.erase(it);
    }
  }
  const bool from_push = outcome.has_value();
  std::shared_ptr<const Target> target;
  try {
    target = target_of(job);
  } catch (const std::exception& e) {
    // A payload that cannot be opened (another key) cannot be polled: fail
    // it, so the orchestrator is not left waiting.
    log_->error("execution {}: cannot open its monitoring job: {}", job.subject, e.what());
    auto fallback = std::make_shared<Target>();
    fallback->request_id = job.subject;
    fallback->deadline = job.deadline;
    fallback->placement = std::make_shared<const Placement>();
    target = fallback;
    outcome =
        sdk::LifecycleExecution::failed(job.subject, sdk::FailureCode::internal_error,
                                        fmt::format("monitoring cannot continue: {}", e.what()));
  }
  // Checked before the breaker too: an open one would put the end off by
  // its whole open duration.
  if (!outcome && std::chrono::steady_clock::now() >= target->deadline) {
    outcome = sdk::LifecycleExecution::failed(job.subject, sdk::FailureCode::internal_error,
                                              no_outcome_in_time(options_.total_timeout));
  }
  const auto& driver = target->placement->driver;
  // Only a driver call has a deadline. Recording an outcome is the store's
  // to bound: it is never skipped in the queue (a skipped task would leave
  // the run without an end).
  const drivers::DriverExecutor::Call call{
      driver ? std::string_view(driver->driver->info.name) : std::string_view("none"),
      outcome ? "record_outcome" : "get_lifecycle_execution",
      outcome ? std::chrono::steady_clock::time_point::max()
              : std::chrono::steady_clock::now() + options_.call_timeout};
  std::uint64_t probe = 0;  // the breaker's half-open probe, when this poll is it
  if (!outcome) {
    bool refused = false;
    {
      // What the breaker logs (its transitions too) belongs to the execution's request.
      logging::ScopedLogContext scope(target->log_fields);
      try {
        probe = drivers_.admit(*driver);  // an open breaker answers at once
      } catch (const sdk::TemporaryDriverError& e) {
        log_->debug("execution {}: {}; retrying", job.subject, e.what());
        refused = true;
      }
    }
    if (refused) {  // finished out of the scope: finishing may run other jobs on this thread
      run.finish(jobs::JobStep::retry_later);
      return;
    }
    // A call still queued at its deadline is skipped; one still running is
    // left to finish: either way, the run ends then.
    target->poll.queued(job.attempts, probe);
    run.expire_at(call.deadline);
  }
  // The driver call runs on a driver thread, which queues the commit of an
  // outcome and is free at once.
  drivers::DriverExecutor& pool = pools_.for_driver(call.driver);
  const bool queued = pool.submit(
      call, [this, target, outcome, deadline = call.deadline, run, attempt = job.attempts, probe] {
        if (!outcome && !target->poll.start(attempt)) return;  // its run expired in the queue
        try {
          poll_on_driver_thread(target, outcome, deadline, run);
        } catch (const std::exception& e) {
          run.fail(e);
        }
        // Ended before the driver was called (the total deadline passed):
        // the probe's slot goes back (a no-op once its outcome was recorded).
        if (probe != 0) target->placement->driver->breaker->abandon_probe(probe);
      });
  if (!queued) {
    if (probe != 0) driver->breaker->abandon_probe(probe);  // it never reached the target
    if (from_push) {
      std::lock_guard lock(mutex_);
      pushed_.try_emplace(job.subject, PushedReport{std::move(*outcome),  // kept for the retry
                                                    std::chrono::steady_clock::now()});
    }
    {
      logging::ScopedLogContext scope(target->log_fields);
      log_->debug("execution {}: driver calls are saturated; retrying", job.subject);
    }
    run.finish(jobs::JobStep::retry_later);
  }
}

void LifecycleMonitor::poll_on_driver_thread(const std::shared_ptr<const Target>& target,
                                             std::optional<sdk::LifecycleExecution> outcome,
                                             std::chrono::steady_clock::time_point deadline,
                                             jobs::JobRun run) {
  const std::string& request_id = target->request_id;
  logging::ScopedLogContext scope(target->log_fields);
  if (!outcome && std::chrono::steady_clock::now() >= target->deadline) {
    outcome = sdk::LifecycleExecution::failed(request_id, sdk::FailureCode::internal_error,
                                              no_outcome_in_time(options_.total_timeout));
  }
  // The step is taken once the ending (if any) is committed. The commit is
  // the store's to bound, not the call's deadline, and holds no driver call:
  // the run releases its slot before it, so slow group commits under load
  // do not throttle the polls of other executions.
  const auto ended = end_run_on_commit(run);
  if (!outcome) {
    const Placement& placement = *target->placement;
    drivers::HostCallContext context(target->log_fields, target->tenant_id, deadline,
                                     placement.driver->log);
    try {
      auto execution = drivers_.call<sdk::ResourceDriver>(
          *placement.driver, placement.location, /*from_request=*/false, deadline,
          [&](sdk::ResourceDriver& driver) {
            return driver.get_lifecycle_execution(target->driver_request_id, placement.location,
                                                  context);
          });
      if (execution.status == sdk::ExecutionStatus::in_progress) {
        run.finish(jobs::JobStep::poll_later);
        return;
      }
      outcome = std::move(execution);
    } catch (const sdk::TemporaryDriverError& e) {
      log_->debug("execution {}: temporary error: {}", request_id, drivers::operator_message(e));
      run.finish(jobs::JobStep::retry_later);
      return;
    } catch (const sdk::RequestNotFoundError& e) {
      run.release();
      end_monitoring(
          std::make_shared<ExecutionEnding>(ExecutionEnding{
              .request_id = request_id, .monitoring = "stopped: request not found"}),
          {},
          [this, target, why = drivers::operator_message(e), ended](bool recorded,
                                                                    std::exception_ptr failure) {
            // Not recorded: the execution had ended already, and this poll
            // (one that overran its deadline) came after the driver forgot it.
            if (recorded) {
              logging::ScopedLogContext writer_scope(target->log_fields);  // store writer
              log_->warn("execution {}: the driver does not know it ({}); monitoring stops",
                         target->request_id, why);
              ended_not_found_.Increment();
            }
            ended(failure);
          });
      return;
    } catch (const std::exception& e) {
      outcome =
          sdk::LifecycleExecution::failed(request_id, sdk::FailureCode::internal_error, e.what());
      if (const std::string detailed = drivers::operator_message(e); detailed != e.what()) {
        log_->warn("execution {}: the status poll failed, and with it the execution: {}",
                   request_id, detailed);  // the event says what() alone
      }
    }
  }
  outcome->request_id = request_id;  // the id the orchestrator knows, whatever the driver said
  if (!sdk::is_terminal(outcome->status)) {
    run.finish(jobs::JobStep::poll_later);
    return;
  }
  run.release();
  finish(target, std::move(*outcome), ended);
}

void LifecycleMonitor::finish(std::shared_ptr<const Target> target, sdk::LifecycleExecution outcome,
                              std::function<void(std::exception_ptr)> ended) {
  const std::string& request_id = target->request_id;
  const auto& driver = target->placement->driver;  // null for a job that could not be read
  const std::string_view driver_name =
      driver ? std::string_view(driver->driver->info.name) : std::string_view("unknown");
  if (outcome.status != sdk::ExecutionStatus::complete &&
      outcome.status != sdk::ExecutionStatus::failed) {
    // A value cast into the enum: no orchestrator can act on it.
    outcome = sdk::LifecycleExecution::failed(
        request_id, sdk::FailureCode::internal_error,
        fmt::format("driver '{}' returned an execution status that is not IN_PROGRESS, COMPLETE "
                    "or FAILED (value {})",
                    driver_name, static_cast<int>(outcome.status)));
  }
  if (outcome.status == sdk::ExecutionStatus::failed && !outcome.failure_details) {
    outcome.failure_details = failed_without_details(driver_name);
  }
  if (outcome.status == sdk::ExecutionStatus::complete) outcome.failure_details.reset();
  keep_contract_failure_code(outcome.failure_details, /*infrastructure_task=*/false);
  json::object encoded = sdk::json::encode(outcome);
  std::string payload = json::serialize(encoded);
  if (const OutcomeRepairs repairs = repair_outcome_text(encoded, payload)) {
    logging::ScopedLogContext scope(target->log_fields);
    for (const std::string& line : describe_repairs(repairs, driver_name)) {
      log_->warn("execution {}: {}", request_id, line);
    }
    try {
      // The record takes its outputs and topology from `outcome`.
      outcome = sdk::json::decode_lifecycle_execution(encoded, "outcome");
      outcome.request_id = request_id;
    } catch (const std::exception& e) {
      outcome = sdk::LifecycleExecution::failed(
          request_id, sdk::FailureCode::internal_error,
          fmt::format("driver '{}' returned an unusable outcome: {}", driver_name, e.what()));
      encoded = sdk::json::encode(outcome);
      payload = json::serialize(encoded);
    }
  }
  if (const std::string why =
          unstorable_outcome(outcome.status, encoded, payload.size(), options_.max_outcome_size);
      !why.empty()) {
    logging::ScopedLogContext scope(target->log_fields);
    log_->error("execution {}: {}", request_id, why);
    outcome = sdk::LifecycleExecution::failed(request_id, sdk::FailureCode::internal_error, why);
    payload = json::serialize(sdk::json::encode(outcome));
  }
  auto ending = std::make_shared<ExecutionEnding>(
      ExecutionEnding{.request_id = request_id,
                      .status = std::string(sdk::to_string(outcome.status)),
                      .outputs = outcome.outputs,
                      .associated_topology = sdk::json::encode(outcome.associated_topology)});
  if (outcome.failure_details) {
    ending->failure_code = std::string(sdk::to_string(outcome.failure_details->code));
    ending->failure_description = outcome.failure_details->description;
  }
  // Registered before the commit: the relay may deliver the event as soon as
  // it is committed, and must then find whose hook to call.
  bool awaiting;
  {
    std::lock_guard lock(mutex_);
    awaiting = awaiting_delivery_.try_emplace(request_id, target).second;
  }
  auto add_event = [ending, target, payload = std::move(payload)](store::Database& db) {
    // Stamped when the group commit runs, not when the write was queued:
    // the event's createdAt is when the outcome became durable.
    add_terminal_event(db, target->request_id, target->tenant_id, payload, ending->ended_at);
  };
  end_monitoring(ending, std::move(add_event),
                 [this, ending, target, awaiting, ended = std::move(ended)](
                     bool recorded, std::exception_ptr failure) {
                   if (!recorded && awaiting) {
                     std::lock_guard lock(mutex_);
                     if (auto it = awaiting_delivery_.find(target->request_id);
                         it != awaiting_delivery_.end() && it->second == target) {
                       awaiting_delivery_.erase(it);
                     }
                   }
                   if (recorded) {
                     // On the store writer: the request's log context is not this thread's.
                     logging::ScopedLogContext scope(target->log_fields);
                     log_->info("execution {} {}", target->request_id, ending->status);
                     (ending->status == "COMPLETE" ? ended_complete_ : ended_failed_).Increment();
                     notify_outbox_();
                   }
                   ended(failure);
                 });
}

void LifecycleMonitor::record_not_started(AcceptedExecution execution,
                                          const sdk::FailureDetails& failure) {
  const std::string& request_id = execution.request_id;
  execution.job = {};  // nothing to monitor
  ExecutionEnding ending{.request_id = request_id,
                         .status = "FAILED",
                         .failure_code = std::string(sdk::to_string(failure.code)),
                         .failure_description = failure.description};
  const std::string payload = json::serialize(sdk::json::encode(
      sdk::LifecycleExecution::failed(request_id, failure.code, failure.description)));
  const auto add_event = [&](store::Database& db) {
    add_terminal_event(db, request_id, execution.tenant_id, payload, ending.ended_at);
  };
  bool recorded = false;
  if (cluster_) {
    // An id the cluster knows (running, or ended) keeps its own outcome: a
    // second ending would contradict it under the same event id, and an
    // accepted record without a job would hide the live one. Every
    // acceptance is on the state topic before its 202, so this node's copy,
    // caught up, knows it.
    cluster_->catch_up();
    if (record(request_id)) return;
    // Every node must know the record: the accepted state first (with no
    // job, so no owner monitors it), then its ending with the event.
    cluster_->publish_accepted(execution);
    store_.write([&](store::Database& db) {
      ending.ended_at = now_ms();
      add_event(db);
      add_state_ending(db, ending);
      recorded = true;
    });
  } else {
    store_.write([&](store::Database& db) {
      ending.ended_at = now_ms();
      // Known already (a redelivered request that did start): leave it be.
      if (!insert_execution(db, execution, /*if_absent=*/true, /*sealed_job=*/nullptr)) return;
      end_execution(db, ending);
      add_event(db);
      recorded = true;
    });
  }
  if (!recorded) return;
  log_->info("execution {} FAILED before it started: {}", request_id, failure.description);
  ended_failed_.Increment();
  notify_outbox_();
}

void LifecycleMonitor::add_state_ending(store::Database& db, const ExecutionEnding& ending) const {
  db.prepare(
        "INSERT INTO outbox (event_id, topic, event_key, payload, created_at) "
        "VALUES (?, ?, ?, ?, ?)")
      .bind(1, sdk::new_time_ordered_id())
      .bind(2, ClusterLink::kStateTopic)
      .bind(3, ending.request_id)
      .bind(4, cluster_->encode_ending(ending))
      .bind(5, ending.ended_at)
      .run();
}

void LifecycleMonitor::end_monitoring(std::shared_ptr<ExecutionEnding> ending,
                                      std::function<void(store::Database&)> also, Ended ended) {
  const std::string& request_id = ending->request_id;
  if (cluster_) {
    // The job is this node's while it holds it; the record is every node's:
    // the ending goes to the state topic (through the outbox, so a crash
    // loses nothing), and each node's copy follows from there.
    if (!holds(request_id)) {
      ended(false, nullptr);
      return;
    }
    store_.write_async(
        [this, ending, also](store::Database& db) {
          ending->ended_at = now_ms();
          if (also) also(db);
          add_state_ending(db, *ending);
        },
        [this, ending, ended = std::move(ended)](std::exception_ptr failure) {
          if (!failure) {
            // Failed (a full disk), the job stays held: its retry ends it.
            std::lock_guard lock(mutex_);
            held_.erase(ending->request_id);
            forget(ending->request_id);
          }
          ended(!failure, failure);
        });
    return;
  }
  auto recorded = std::make_shared<bool>(false);
  store_.write_async(
      [ending, also, recorded](store::Database& db) {
        ending->ended_at = now_ms();
        // Only an execution still monitored ends: a late duplicate ending (a
        // poll that overran its deadline, then succeeded) records nothing.
        if (!end_execution(db, *ending)) return;
        if (also) also(db);
        *recorded = true;
      },
      [this, ending, recorded, ended = std::move(ended)](std::exception_ptr failure) {
        if (!failure) {  // else the job stays, and its retry ends it
          std::lock_guard lock(mutex_);
          forget(ending->request_id);
        }
        ended(!failure && *recorded, failure);
      });
}

void LifecycleMonitor::on_delivered(std::span<const DeliveredEvent> events) {
  // The delivered executions with a driver to tell, grouped by driver. A
  // target is gone after a restart: the hook is optional, and its loss only
  // delays the driver's clean-up.
  std::vector<std::vector<std::shared_ptr<const Target>>> by_driver;
  {
    std::lock_guard lock(mutex_);
    for (const DeliveredEvent& event : events) {
      if (event.topic != kTopic) continue;
      const auto it = awaiting_delivery_.find(std::string(event.request_id));
      if (it == awaiting_delivery_.end()) continue;
      std::shared_ptr<const Target> target = std::move(it->second);
      awaiting_delivery_.erase(it);
      const auto* driver = target->placement->driver.get();
      if (driver == nullptr) continue;
      const auto group = std::find_if(by_driver.begin(), by_driver.end(), [&](const auto& hooks) {
        return hooks.front()->placement->driver.get() == driver;
      });
      if (group == by_driver.end()) {
        by_driver.push_back({std::move(target)});
      } else {
        group->push_back(std::move(target));
      }
    }
  }
  for (const auto& targets : by_driver) {
    for (std::size_t first = 0; first < targets.size(); first += kHooksPerTask) {
      const auto last = std::min(targets.size(), first + kHooksPerTask);
      std::vector<std::function<void()>> hooks;
      hooks.reserve(last - first);
      for (std::size_t i = first; i < last; ++i) {
        hooks.push_back([this, target = targets[i]] { call_delivered_hook(*target); });
      }
      const auto& driver = *targets.front()->placement->driver;
      const auto deadline = std::chrono::steady_clock::now() + options_.call_timeout;
      const auto expired = [log = log_](std::size_t count) {
        log->warn(
            "driver calls are saturated: after-delivery hooks of {} executions skipped (no "
            "driver thread took them within driver_calls.timeout)",
            count);
      };
      drivers::DriverExecutor& pool = pools_.for_driver(driver.driver->info.name);
      if (!pool.submit_each({driver.driver->info.name, "on_execution_delivered", deadline},
                            std::move(hooks), expired)) {
        log_->warn("driver calls are saturated: after-delivery hooks of {} executions skipped",
                   last - first);
      }
    }
  }
}

void LifecycleMonitor::call_delivered_hook(const Target& target) {
  logging::ScopedLogContext scope(target.log_fields);
  const Placement& placement = *target.placement;
  // Each hook has the whole call timeout from its own start.
  const auto deadline = std::chrono::steady_clock::now() + options_.call_timeout;
  drivers::HostCallContext context(target.log_fields, target.tenant_id, deadline,
                                   placement.driver->log);
  try {
    // An optional clean-up: its failure must not make the target refuse work.
    drivers_.call_unrecorded<sdk::ResourceDriver>(
        *placement.driver, placement.location, [&](sdk::ResourceDriver& instance) {
          instance.on_execution_delivered(target.driver_request_id, placement.location, context);
        });
  } catch (const std::exception& e) {
    log_->warn("execution {}: after-delivery hook failed (ignored): {}", target.request_id,
               e.what());
  }
}

void LifecycleMonitor::record_deliveries(store::Database& db, const events::DeliveredRows& rows) {
  auto update = db.prepare(
      "UPDATE executions SET delivered_at = ?1 WHERE delivered_at IS NULL AND request_id IN "
      "(SELECT event_key FROM outbox WHERE topic = ?2 AND " +
      rows.condition(3) + ")");
  update.bind(1, now_ms()).bind(2, kTopic);
  rows.bind(update, 3);
  update.run();
}

void LifecycleMonitor::catch_up() {
  if (cluster_) cluster_->catch_up();
}

std::optional<json::object> LifecycleMonitor::record(std::string_view request_id) {
  return store_.read([&](store::Database& db) { return read_execution(db, request_id); });
}

MonitoredPage LifecycleMonitor::monitored_records(const std::optional<MonitoredPosition>& after,
                                                  std::size_t limit) {
  if (clustered()) {
    // The node's records hold no jobs (those are in Kafka): the page is
    // made of the jobs it holds, in listing order.
    std::vector<MonitoredPosition> positions;
    {
      std::lock_guard lock(mutex_);
      positions.reserve(held_.size());
      for (const auto& [request_id, accepted_at] : held_) {
        MonitoredPosition position{accepted_at, request_id};
        if (!after || *after < position) positions.push_back(std::move(position));
      }
    }
    std::sort(positions.begin(), positions.end());
    return store_.read(
        [&](store::Database& db) { return read_monitored_executions_at(db, positions, limit); });
  }
  return store_.read(
      [&](store::Database& db) { return read_monitored_executions(db, after, limit); });
}

}  // namespace flint::service
