#pragma once

/// @file
/// Carries every accepted infrastructure task (create or delete) to its
/// end: durable acceptance, status polls, and the terminal state with its
/// event (`infrastructure_task_events`) in one transaction.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <spdlog/logger.h>

#include <flint/sdk/infrastructure.hpp>

#include "drivers/driver_catalog.hpp"
#include "drivers/driver_manager.hpp"
#include "drivers/driver_pools.hpp"
#include "jobs/job_scheduler.hpp"
#include "security/credential_vault.hpp"
#include "service/lifecycle_monitor.hpp"
#include "store/store.hpp"

namespace flint::service {

/// The monitoring of infrastructure tasks, a job kind on the scheduler.
///
/// Semantics (the seed's, made durable): IN_PROGRESS -> poll again later;
/// COMPLETE / FAILED -> the task event; temporary error, unreachable
/// location or call deadline -> poll again with back-off; infrastructure or
/// request not found -> stop (logged, counted, no event); any other error,
/// or `monitoring.total_timeout` passed -> a FAILED event with
/// INTERNAL_ERROR and the message (Ignition's docs say "forget"; an
/// orchestrator left waiting for an event is worse). Thread-safe.
class InfrastructureMonitor {
 public:
  /// The job kind name.
  static constexpr std::string_view kJobKind = "infrastructure_task";
  /// The topic of infrastructure task events.
  static constexpr std::string_view kTopic = "infrastructure_task_events";

  /// Registers the job kind on `scheduler` and the metric
  /// `flint_infrastructure_tasks_ended_total` on `registry`. Everything
  /// passed must outlive the monitor.
  InfrastructureMonitor(store::Store& store, jobs::JobScheduler& scheduler,
                        drivers::DriverPools& pools, drivers::DriverManager& drivers,
                        const drivers::DriverCatalog& catalog,
                        const security::CredentialVault& vault, MonitorOptions options,
                        std::function<void()> notify_outbox, prometheus::Registry& registry);

  /// Records a task the driver of `target` accepted (its location sealed) and
  /// schedules its polls; returns once committed. Blocking: call on a driver
  /// thread. `operation` is `create` or `delete` (logs).
  /// @throws sdk::TemporaryDriverError when the store cannot commit.
  void accept(std::string_view operation, const sdk::DeploymentLocation& location,
              const sdk::InfrastructureTaskAccepted& accepted, const CallOrigin& origin,
              std::shared_ptr<const drivers::DriverManager::Target> target);

  /// Schedules every unfinished task found in the store (at start).
  /// @returns how many were resumed.
  std::size_t resume();

 private:
  struct Task;
  // Starts a poll on a driver thread, bounded by monitoring.call_timeout.
  void poll(jobs::Job& job, jobs::JobRun run);
  // Each of these ends `run`: at once, or once its write is committed.
  void poll_on_driver_thread(const std::shared_ptr<const Task>& task,
                             std::chrono::steady_clock::time_point deadline, jobs::JobRun run);
  void finish(const std::shared_ptr<const Task>& task, sdk::InfrastructureTask outcome,
              jobs::JobRun run);
  void stop(const std::shared_ptr<const Task>& task, std::string_view why, jobs::JobRun run);
  std::shared_ptr<const Task> task_of(jobs::Job& job);
  // Fills the ids kept in clear (`jobs.header`) into a task whose payload
  // cannot be opened.
  void read_header(std::string_view header, Task& task);

  store::Store& store_;
  jobs::JobScheduler& scheduler_;
  drivers::DriverPools& pools_;
  drivers::DriverManager& drivers_;
  const drivers::DriverCatalog& catalog_;
  const security::CredentialVault& vault_;
  MonitorOptions options_;
  std::function<void()> notify_outbox_;
  std::shared_ptr<spdlog::logger> log_;
  prometheus::Counter& ended_complete_;
  prometheus::Counter& ended_failed_;
  prometheus::Counter& ended_not_found_;
};

}  // namespace flint::service
