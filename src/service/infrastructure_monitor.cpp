#include "service/infrastructure_monitor.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <prometheus/family.h>

#include <flint/sdk/errors.hpp>
#include <flint/sdk/ids.hpp>
#include <flint/sdk/json.hpp>

#include "drivers/guarded_call.hpp"
#include "drivers/host_call_context.hpp"
#include "drivers/operator_message.hpp"
#include "logging/logging.hpp"
#include "service/monitoring_jobs.hpp"
#include "store/sqlite_database.hpp"

namespace flint::service {

namespace json = boost::json;

namespace {

prometheus::Counter& ended(prometheus::Registry& registry, const char* outcome) {
  return prometheus::BuildCounter()
      .Name("flint_infrastructure_tasks_ended_total")
      .Help(
          "Infrastructure tasks whose monitoring ended, by outcome: complete, failed (event "
          "sent) or not_found (stopped, no event)")
      .Register(registry)
      .Add({{"outcome", outcome}});
}

}  // namespace

// What a poll needs, decoded once from the sealed job payload.
struct InfrastructureMonitor::Task {
  std::string request_id;
  std::string infrastructure_id;
  std::chrono::steady_clock::time_point deadline;
  sdk::DeploymentLocation location;
  // Null only when the job could not be read (the task is then failed).
  std::shared_ptr<const drivers::DriverManager::Target> driver;
  logging::LogFields log_fields;
  std::string tenant_id;
  // Whether a poll started before its run expired (the breaker's business).
  mutable drivers::GuardedPoll poll;
};

InfrastructureMonitor::InfrastructureMonitor(
    store::Store& store, jobs::JobScheduler& scheduler, drivers::DriverPools& pools,
    drivers::DriverManager& drivers, const drivers::DriverCatalog& catalog,
    const security::CredentialVault& vault, MonitorOptions options,
    std::function<void()> notify_outbox, prometheus::Registry& registry)
    : store_(store),
      scheduler_(scheduler),
      pools_(pools),
      drivers_(drivers),
      catalog_(catalog),
      vault_(vault),
      options_(options),
      notify_outbox_(std::move(notify_outbox)),
      log_(logging::logger("monitor")),
      ended_complete_(ended(registry, "complete")),
      ended_failed_(ended(registry, "failed")),
      ended_not_found_(ended(registry, "not_found")) {
  scheduler_.register_kind(
      std::string(kJobKind), options_.polling,
      [this](jobs::Job& job, jobs::JobRun run) { poll(job, run); },
      [this](const jobs::Job& job) {
        // Only a driver call is bounded: a poll that overran its deadline,
        // or one still queued then (it never reached the target).
        auto task = std::static_pointer_cast<const Task>(job.state);
        const bool started =
            !task || !task->driver || task->poll.expired(job.attempts, drivers_, *task->driver);
        log_->debug("infrastructure task {}: the poll {}; retrying", job.subject,
                    started ? "did not finish within its deadline"
                            : "waited for a driver thread past its deadline (driver calls are "
                              "saturated)");
      });
}

void InfrastructureMonitor::accept(std::string_view operation,
                                   const sdk::DeploymentLocation& location,
                                   const sdk::InfrastructureTaskAccepted& accepted,
                                   const CallOrigin& origin,
                                   std::shared_ptr<const drivers::DriverManager::Target> target) {
  const std::int64_t now = now_ms();
  const std::int64_t deadline = now + options_.total_timeout.count();
  const json::object sealed{{"driver", target->driver->info.name},
                            {"infrastructureId", accepted.infrastructure_id},
                            {"deploymentLocation", sdk::json::encode(location)},
                            {"logFields", encode_log_fields(origin.log_fields)},
                            {"tenantId", origin.tenant_id}};
  // The location holds credentials: only its sealed form reaches the disk.
  const std::string payload = vault_.seal(json::serialize(sealed));
  // What the task's event needs even if the payload cannot be opened (a
  // lost key): no secret.
  const std::string header = json::serialize(json::object{
      {"infrastructureId", accepted.infrastructure_id}, {"tenantId", origin.tenant_id}});
  try {
    store_.write([&](store::Database& db) {
      db.prepare(
            "INSERT INTO jobs (kind, subject, payload, header, created_at, deadline_at) "
            "VALUES (?, ?, ?, ?, ?, ?)")
          .bind(1, kJobKind)
          .bind(2, accepted.request_id)
          .bind_blob(3, payload)
          .bind(4, header)
          .bind(5, now)
          .bind(6, deadline)
          .run();
    });
  } catch (const store::SqliteError& e) {
    if (e.code() == SQLITE_CONSTRAINT) {
      throw sdk::InfrastructureError(
          fmt::format("the driver returned request id {} twice", accepted.request_id));
    }
    log_->error("cannot record infrastructure task {}: {}", accepted.request_id, e.what());
    throw sdk::TemporaryDriverError(e.disk_full() ? "the task cannot be recorded: the disk is full"
                                                  : "the task cannot be recorded now; retry later");
  }
  auto task = std::make_shared<Task>();
  task->request_id = accepted.request_id;
  task->infrastructure_id = accepted.infrastructure_id;
  task->deadline = std::chrono::steady_clock::now() + options_.total_timeout;
  task->location = location;
  task->driver = std::move(target);
  task->log_fields = origin.log_fields;
  task->tenant_id = origin.tenant_id;
  log_->info("infrastructure {}: {} task {} accepted", accepted.infrastructure_id, operation,
             accepted.request_id);
  scheduler_.schedule({kJobKind, accepted.request_id, {}, {}, task->deadline, 0, std::move(task)},
                      std::chrono::steady_clock::now() + options_.polling.min_interval);
}

std::size_t InfrastructureMonitor::resume() {
  // Each location's newest recorded properties become its current ones
  // (credentials may have rotated since the oldest tasks were accepted).
  return resume_jobs(store_, scheduler_, kJobKind, options_.total_timeout, [this](jobs::Job& job) {
    try {
      const auto task = task_of(job);
      drivers_.remember(*task->driver, task->location);
    } catch (const std::exception&) {
      // Polled, it fails with the reason.
    }
  });
}

void InfrastructureMonitor::read_header(std::string_view header, Task& task) {
  if (header.empty()) return;  // a task accepted before schema 4
  try {
    const json::object value = sdk::json::parse_stored(header).as_object();
    task.infrastructure_id = value.at("infrastructureId").as_string();
    task.tenant_id = value.at("tenantId").as_string();
  } catch (const std::exception& e) {
    log_->error("infrastructure task {}: its ids in clear cannot be read either: {}",
                task.request_id, e.what());
  }
}

std::shared_ptr<const InfrastructureMonitor::Task> InfrastructureMonitor::task_of(jobs::Job& job) {
  if (job.state) return std::static_pointer_cast<const Task>(job.state);
  const json::value value = sdk::json::parse_stored(vault_.open(job.payload));
  auto task = std::make_shared<Task>();
  task->request_id = job.subject;
  task->infrastructure_id = value.at("infrastructureId").as_string();
  task->deadline = job.deadline;
  task->location =
      sdk::json::decode_deployment_location(value.at("deploymentLocation"), "deploymentLocation");
  const std::string driver_name(value.at("driver").as_string());
  const drivers::RegisteredDriver* driver = catalog_.find(driver_name);
  if (!driver) {
    throw std::runtime_error("driver '" + driver_name +
                             "', which accepted it, is not loaded any more");
  }
  task->driver = drivers_.target(*driver, task->location);
  task->log_fields = decode_log_fields(value.at("logFields"));
  task->tenant_id = value.at("tenantId").as_string();
  std::string().swap(job.payload);
  job.state = task;
  return task;
}

void InfrastructureMonitor::poll(jobs::Job& job, jobs::JobRun run) {
  std::shared_ptr<const Task> task;
  std::optional<sdk::InfrastructureTask> host_outcome;
  try {
    task = task_of(job);
  } catch (const std::exception& e) {
    // A job that cannot be read cannot be polled: fail it, so the
    // orchestrator is not left waiting.
    log_->error("infrastructure task {}: cannot open its monitoring job: {}", job.subject,
                e.what());
    auto fallback = std::make_shared<Task>();
    fallback->request_id = job.subject;
    fallback->deadline = job.deadline;
    read_header(job.header, *fallback);
    task = fallback;
    host_outcome = sdk::InfrastructureTask::failed(
        fallback->infrastructure_id, job.subject, sdk::FailureCode::internal_error,
        fmt::format("monitoring cannot continue: {}", e.what()));
  }
  // Checked before the breaker too: an open one would put the end off by
  // its whole open duration.
  if (!host_outcome && std::chrono::steady_clock::now() >= task->deadline) {
    host_outcome = sdk::InfrastructureTask::failed(task->infrastructure_id, task->request_id,
                                                   sdk::FailureCode::internal_error,
                                                   no_outcome_in_time(options_.total_timeout));
  }
  // Only a driver call has a deadline; recording an outcome the host decided
  // is never skipped in the queue (nor left without an end).
  const auto call_deadline = host_outcome
                                 ? std::chrono::steady_clock::time_point::max()
                                 : std::chrono::steady_clock::now() + options_.call_timeout;
  const drivers::DriverExecutor::Call call{
      task->driver ? std::string_view(task->driver->driver->info.name) : std::string_view("none"),
      host_outcome ? "record_outcome" : "get_infrastructure_task", call_deadline};
  std::uint64_t probe = 0;  // the breaker's half-open probe, when this poll is it
  if (!host_outcome) {
    bool refused = false;
    {
      // What the breaker logs (its transitions too) belongs to the task's request.
      logging::ScopedLogContext scope(task->log_fields);
      try {
        probe = drivers_.admit(*task->driver);  // an open breaker answers at once
      } catch (const sdk::TemporaryDriverError& e) {
        log_->debug("infrastructure task {}: {}; retrying", job.subject, e.what());
        refused = true;
      }
    }
    if (refused) {  // finished out of the scope: finishing may run other jobs on this thread
      run.finish(jobs::JobStep::retry_later);
      return;
    }
    task->poll.queued(job.attempts, probe);
    run.expire_at(call_deadline);
  }
  drivers::DriverExecutor& pool = pools_.for_driver(call.driver);
  const bool queued = pool.submit(
      call, [this, task, host_outcome, call_deadline, run, attempt = job.attempts, probe] {
        if (!host_outcome && !task->poll.start(attempt)) return;  // its run expired in the queue
        try {
          if (host_outcome) {
            finish(task, *host_outcome, run);
          } else {
            poll_on_driver_thread(task, call_deadline, run);
          }
        } catch (const std::exception& e) {
          run.fail(e);
        }
        // Ended before the driver was called (the total deadline passed): the
        // probe's slot goes back (a no-op once its outcome was recorded).
        if (probe != 0) task->driver->breaker->abandon_probe(probe);
      });
  if (!queued) {
    if (probe != 0) task->driver->breaker->abandon_probe(probe);  // it never reached the target
    {
      logging::ScopedLogContext scope(task->log_fields);
      log_->debug("infrastructure task {}: driver calls are saturated; retrying", job.subject);
    }
    run.finish(jobs::JobStep::retry_later);
  }
}

void InfrastructureMonitor::poll_on_driver_thread(const std::shared_ptr<const Task>& task,
                                                  std::chrono::steady_clock::time_point deadline,
                                                  jobs::JobRun run) {
  logging::ScopedLogContext scope(task->log_fields);
  if (std::chrono::steady_clock::now() >= task->deadline) {
    finish(task,
           sdk::InfrastructureTask::failed(task->infrastructure_id, task->request_id,
                                           sdk::FailureCode::internal_error,
                                           no_outcome_in_time(options_.total_timeout)),
           run);
    return;
  }
  drivers::HostCallContext context(task->log_fields, task->tenant_id, deadline, task->driver->log);
  sdk::InfrastructureTask outcome;
  try {
    outcome = drivers_.call<sdk::InfrastructureDriver>(
        *task->driver, task->location, /*from_request=*/false, deadline,
        [&](sdk::InfrastructureDriver& driver) {
          return driver.get_infrastructure_task(task->infrastructure_id, task->request_id,
                                                task->location, context);
        });
    if (outcome.status == sdk::ExecutionStatus::in_progress) {
      run.finish(jobs::JobStep::poll_later);
      return;
    }
  } catch (const sdk::DriverError& e) {
    switch (e.kind()) {
      case sdk::ErrorKind::temporary:
      case sdk::ErrorKind::unreachable_location:
        log_->debug("infrastructure task {}: {}; polling again later", task->request_id,
                    drivers::operator_message(e));
        run.finish(jobs::JobStep::retry_later);
        return;
      case sdk::ErrorKind::infrastructure_not_found:
      case sdk::ErrorKind::request_not_found:
        log_->warn("infrastructure task {}: the driver does not know it ({}); monitoring stops",
                   task->request_id, drivers::operator_message(e));
        stop(task, e.what(), run);
        return;
      default:
        outcome = sdk::InfrastructureTask::failed(task->infrastructure_id, task->request_id,
                                                  sdk::FailureCode::internal_error, e.what());
        if (const std::string detailed = drivers::operator_message(e); detailed != e.what()) {
          log_->warn("infrastructure task {}: the status poll failed, and with it the task: {}",
                     task->request_id, detailed);  // the event says what() alone
        }
    }
  } catch (const std::exception& e) {
    outcome = sdk::InfrastructureTask::failed(task->infrastructure_id, task->request_id,
                                              sdk::FailureCode::internal_error, e.what());
  }
  finish(task, std::move(outcome), run);
}

void InfrastructureMonitor::finish(const std::shared_ptr<const Task>& task,
                                   sdk::InfrastructureTask outcome, jobs::JobRun run) {
  // The ids the orchestrator knows, whatever the driver said.
  outcome.request_id = task->request_id;
  if (!task->infrastructure_id.empty()) outcome.infrastructure_id = task->infrastructure_id;
  if (outcome.status == sdk::ExecutionStatus::failed && !outcome.failure_details) {
    outcome.failure_details =
        failed_without_details(task->driver ? task->driver->driver->info.name : "unknown");
  }
  keep_contract_failure_code(outcome.failure_details, /*infrastructure_task=*/true);
  json::object encoded = sdk::json::encode(outcome);
  std::string payload = json::serialize(encoded);
  if (const OutcomeRepairs repairs = repair_outcome_text(encoded, payload)) {
    logging::ScopedLogContext scope(task->log_fields);
    const std::string_view driver =
        task->driver ? std::string_view(task->driver->driver->info.name) : "none";
    for (const std::string& line : describe_repairs(repairs, driver)) {
      log_->warn("infrastructure task {}: {}", task->request_id, line);
    }
  }
  if (const std::string why =
          unstorable_outcome(outcome.status, encoded, payload.size(), options_.max_outcome_size);
      !why.empty()) {
    logging::ScopedLogContext scope(task->log_fields);
    log_->error("infrastructure task {}: {}", task->request_id, why);
    outcome = sdk::InfrastructureTask::failed(outcome.infrastructure_id, task->request_id,
                                              sdk::FailureCode::internal_error, why);
    payload = json::serialize(sdk::json::encode(outcome));
  }
  auto recorded = std::make_shared<bool>(false);
  // The commit is the store's to bound and holds no driver call: the run
  // gives its slot back now, and ends when the commit does.
  run.release();
  store_.write_async(
      [task, recorded, payload = std::move(payload)](store::Database& db) {
        // Deleting the job is the guard against a late duplicate finish.
        db.prepare("DELETE FROM jobs WHERE kind = ? AND subject = ?")
            .bind(1, kJobKind)
            .bind(2, task->request_id)
            .run();
        if (db.changes() == 0) return;
        auto event = db.prepare(
            "INSERT INTO outbox (event_id, topic, event_key, tenant_id, payload, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)");
        event.bind(1, sdk::new_time_ordered_id())
            .bind(2, kTopic)
            .bind(3, task->request_id)
            .bind(5, payload)
            .bind(6, now_ms());
        if (!task->tenant_id.empty()) event.bind(4, task->tenant_id);
        event.run();
        *recorded = true;
      },
      [this, task, recorded, infrastructure_id = outcome.infrastructure_id, status = outcome.status,
       ended = end_run_on_commit(run)](std::exception_ptr failure) {
        if (!failure && *recorded) {
          logging::ScopedLogContext scope(task->log_fields);
          log_->info("infrastructure {}: task {} {}", infrastructure_id, task->request_id,
                     sdk::to_string(status));
          (status == sdk::ExecutionStatus::complete ? ended_complete_ : ended_failed_).Increment();
          notify_outbox_();
        }
        ended(failure);
      });
}

void InfrastructureMonitor::stop(const std::shared_ptr<const Task>& task, std::string_view why,
                                 jobs::JobRun run) {
  run.release();
  store_.write_async(
      [task](store::Database& db) {
        db.prepare("DELETE FROM jobs WHERE kind = ? AND subject = ?")
            .bind(1, kJobKind)
            .bind(2, task->request_id)
            .run();
      },
      [this, task, why = std::string(why),
       ended = end_run_on_commit(run)](std::exception_ptr failure) {
        if (!failure) {
          logging::ScopedLogContext scope(task->log_fields);
          log_->info("infrastructure task {}: monitoring stopped: {}", task->request_id, why);
          ended_not_found_.Increment();
        }
        ended(failure);
      });
}

}  // namespace flint::service
