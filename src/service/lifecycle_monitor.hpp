#pragma once

/// @file
/// Carries every accepted lifecycle execution to exactly one terminal
/// outcome, delivered as an event: durable acceptance, polling (or push),
/// and the terminal transition with its outbox event in one transaction.

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>
#include <spdlog/logger.h>

#include <flint/sdk/lifecycle.hpp>
#include <flint/sdk/resource_driver.hpp>

#include "drivers/driver_catalog.hpp"
#include "drivers/driver_manager.hpp"
#include "drivers/driver_pools.hpp"
#include "events/delivered_rows.hpp"
#include "jobs/job_scheduler.hpp"
#include "security/credential_vault.hpp"
#include "service/cluster_link.hpp"
#include "service/execution_records.hpp"
#include "service/resource_driver_service.hpp"
#include "store/store.hpp"

namespace flint::service {

/// Timing of monitoring (`monitoring.*`).
struct MonitorOptions {
  /// Deadline of one status poll.
  std::chrono::milliseconds call_timeout{30'000};
  /// An execution not terminal after this is reported FAILED.
  std::chrono::milliseconds total_timeout{std::chrono::hours(6)};
  /// The largest outcome (its JSON form, as its event carries it) a driver
  /// may report; a larger one ends FAILED (`oversized_outcome`).
  std::size_t max_outcome_size{512 * 1024};
  /// Poll intervals (min, max, back-off, jitter).
  jobs::KindOptions polling;
};

/// The monitoring of lifecycle executions, a job kind on the scheduler.
///
/// Semantics (Ignition's, made durable): IN_PROGRESS -> poll again later;
/// COMPLETE / FAILED -> record and deliver the event, then call the driver's
/// after-delivery hook; temporary error or call deadline -> retry with
/// back-off; request not found -> stop (logged, counted; no event, as
/// Ignition); any other error, or the total deadline passed -> FAILED with
/// INTERNAL_ERROR and the message. Thread-safe.
class LifecycleMonitor {
 public:
  /// The job kind name.
  static constexpr std::string_view kJobKind = "lifecycle_execution";
  /// The topic of lifecycle events (Kafka name later).
  static constexpr std::string_view kTopic = "lifecycle_execution_events";

  /// The id of the terminal event of `request_id`: the same on every node and
  /// at every try, so consumers can deduplicate by it. A UUID version 8 from
  /// SHA-256 of the request id; when `request_id` is a UUID version 7, its
  /// first 48 bits (the time) are kept, so the ids sort by acceptance time.
  static std::string terminal_event_id(std::string_view request_id);

  /// Registers the job kind on `scheduler` and the metric
  /// `flint_lifecycle_executions_ended_total` on `registry`. Everything
  /// passed must outlive the monitor. `notify_outbox` wakes the event relay
  /// after a commit.
  /// `fallback_driver` serves executions recorded before the driver was
  /// stored with them (stores of Flint 0.1).
  LifecycleMonitor(store::Store& store, jobs::JobScheduler& scheduler, drivers::DriverPools& pools,
                   drivers::DriverManager& drivers, const drivers::DriverCatalog& catalog,
                   std::string fallback_driver, const security::CredentialVault& vault,
                   MonitorOptions options, std::function<void()> notify_outbox,
                   prometheus::Registry& registry);
  /// Detaches `reporter`: a driver that reports later (from a thread of its
  /// own, at a stop) reaches nothing.
  ~LifecycleMonitor();
  LifecycleMonitor(const LifecycleMonitor&) = delete;
  LifecycleMonitor& operator=(const LifecycleMonitor&) = delete;

  /// Settles an acceptance: null once the execution is recorded (and its
  /// job scheduled), else the error to answer with: sdk::TemporaryDriverError
  /// when it cannot be committed (disk full: a 503, never a 202 that cannot
  /// be kept), sdk::ResourceDriverError when its request id was accepted
  /// before.
  using Accepted = std::function<void(std::exception_ptr failure)>;

  /// Records an execution the driver of `target` accepted, with its
  /// monitoring job, in one transaction, then schedules the job, and tells
  /// `done`. Nothing holds a thread while the disk syncs, so many
  /// acceptances share one commit however few driver threads there are:
  /// `done` runs later, on the store's writer thread, and must be quick. In
  /// cluster mode the record goes to Kafka instead, and `done` runs on the
  /// driver thread that waits for the acknowledgement.
  void accept(std::string_view lifecycle_name, const sdk::DeploymentLocation& location,
              const sdk::LifecycleExecuteResponse& response, const CallOrigin& origin,
              std::shared_ptr<const drivers::DriverManager::Target> target, Accepted done);

  /// Records an execution whose id was promised to the orchestrator but
  /// that could not be started (the request queue): FAILED with `failure`,
  /// with its event, unless its id is known (running or ended; in cluster
  /// mode, known to the cluster's state topic): then nothing is recorded.
  /// Blocking: call on a driver thread.
  /// @throws std::exception when it cannot be recorded (the store, or in
  ///         cluster mode Kafka): the caller tries again later.
  void record_not_started(AcceptedExecution execution, const sdk::FailureDetails& failure);

  /// Schedules every unfinished job found in the store (at start).
  /// @returns how many were resumed.
  std::size_t resume();

  /// Cluster mode (call before the first `accept`): accepted executions go
  /// to the shared state of `cluster`, which hands this node the ones it
  /// owns (`adopt`) and takes them back (`release`); endings go to the state
  /// topic. `cluster` must outlive the monitor.
  void join_cluster(ClusterLink& cluster);

  /// Cluster mode: starts monitoring an execution whose partition this node
  /// owns, first polled at `due`. A known one is left as it is.
  void adopt(const AcceptedExecution& execution, std::chrono::steady_clock::time_point due);

  /// Cluster mode: stops monitoring an execution (its partition moved away,
  /// or its ending is in the state topic). A poll in flight records nothing.
  void release(const std::string& request_id);

  /// Cluster mode: executions this node monitors now.
  std::size_t held() const;

  /// The reporter handed to drivers for push completion.
  std::shared_ptr<sdk::ExecutionReporter> reporter() const;

  /// An event the event relay delivered: its topic and key.
  struct DeliveredEvent {
    std::string_view topic;
    std::string_view request_id;
  };

  /// Called by the event relay with each batch of delivered events: calls
  /// the after-delivery hook of each execution ended by this monitor, on
  /// driver threads, one queued task per driver and up to
  /// `kHooksPerTask` hooks (errors logged and ignored).
  void on_delivered(std::span<const DeliveredEvent> events);

  /// The most after-delivery hooks run in one driver-thread task.
  static constexpr std::size_t kHooksPerTask = 32;

  /// Records the delivery time of every lifecycle event among the outbox
  /// `rows`. Runs inside the transaction that removes those rows once every
  /// sink has them, so a record says delivered exactly when its event left
  /// the outbox. Needs no instance: the outbox relay calls it.
  static void record_deliveries(store::Database& db, const events::DeliveredRows& rows);

  /// The durable record of `request_id` as the status API shows it, or
  /// nullopt when unknown.
  std::optional<boost::json::object> record(std::string_view request_id);

  /// A page of the records of the executions this node monitors, oldest
  /// first (see `read_monitored_executions`). In cluster mode, those of the
  /// jobs it holds (`read_monitored_executions_at`): its share of the
  /// cluster's, read from its copy of the records.
  /// @throws store::SqliteError.
  MonitoredPage monitored_records(const std::optional<MonitoredPosition>& after, std::size_t limit);
  /// Whether this node is a cluster's (`join_cluster` was called).
  bool clustered() const noexcept { return cluster_ != nullptr; }

  /// In cluster mode, waits until this node's copy of the records holds
  /// every record the state topic holds now (see `ClusterLink::catch_up`);
  /// nothing in single-node mode.
  /// @throws std::runtime_error when it cannot within its bound.
  void catch_up();

 private:
  class Reporter;
  struct Placement;  // a location and the driver serving it, shared
  struct Target;     // what a poll needs: placement, log fields, tenant
  // Starts a poll on a driver thread, bounded by monitoring.call_timeout.
  void poll(jobs::Job& job, jobs::JobRun run);
  // Polls (or takes the pushed `outcome`) and ends the run, once the
  // outcome, if any, is committed.
  void poll_on_driver_thread(const std::shared_ptr<const Target>& target,
                             std::optional<sdk::LifecycleExecution> outcome,
                             std::chrono::steady_clock::time_point deadline, jobs::JobRun run);
  void pushed(sdk::LifecycleExecution execution);
  // The `monitoring` state of the execution's record; nullopt when there
  // is none (not accepted yet, or never).
  std::optional<std::string> monitoring_state(const std::string& request_id) const;
  // Logs the reports for unknown ids that stayed unknown well past any
  // acceptance in progress.
  void report_unmatched(std::chrono::steady_clock::time_point now);
  // Records the terminal `outcome` with its event; `ended` runs on the
  // store's writer thread once committed (null) or failed.
  void finish(std::shared_ptr<const Target> target, sdk::LifecycleExecution outcome,
              std::function<void(std::exception_ptr)> ended);
  void call_delivered_hook(const Target& target);
  std::shared_ptr<const Target> target_of(jobs::Job& job);
  std::shared_ptr<const Target> decode_target(const std::string& request_id,
                                              std::chrono::steady_clock::time_point deadline,
                                              const boost::json::object& job);
  void accept_in_cluster(const AcceptedExecution& execution);
  AcceptedExecution acceptance(std::string_view lifecycle_name,
                               const sdk::DeploymentLocation& location,
                               const sdk::LifecycleExecuteResponse& response,
                               const CallOrigin& origin,
                               const drivers::DriverManager::Target& driver) const;
  // The write recording `execution` and its job.
  store::Store::Write acceptance_write(std::shared_ptr<const AcceptedExecution> execution) const;
  // A failed acceptance commit as the error the caller answers with.
  std::exception_ptr acceptance_error(const std::string& request_id,
                                      const std::exception_ptr& failure) const;
  // What a job needs from the acceptance beyond its record.
  // What the polls of an accepted execution need, decoded.
  std::shared_ptr<Target> monitoring_target(
      const AcceptedExecution& execution, const std::string& driver_request_id,
      const logging::LogFields& log_fields,
      std::shared_ptr<const drivers::DriverManager::Target> driver);
  // Schedules the first poll of a committed acceptance.
  void schedule_accepted(std::shared_ptr<Target> target, bool reports_completion);
  // Whether an ending was recorded, or why it failed; on the writer thread.
  using Ended = std::function<void(bool recorded, std::exception_ptr failure)>;
  // Queues `ending` (its time stamped at the commit) with `also` (may be
  // empty) in one transaction, unless another ending was recorded first.
  void end_monitoring(std::shared_ptr<ExecutionEnding> ending,
                      std::function<void(store::Database&)> also, Ended ended);
  bool holds(const std::string& request_id) const;
  // Routes the reports of `target`'s run to its job (see job_of_driver_id_).
  // With the lock held.
  void remember_driver_id(const Target& target);
  // Drops what is kept for the job `request_id`: its report, its driver's id.
  // With the lock held.
  void forget(const std::string& request_id);
  // Cluster mode: queues `ending` for the shared state topic.
  void add_state_ending(store::Database& db, const ExecutionEnding& ending) const;
  std::shared_ptr<const Placement> intern_placement(
      const drivers::RegisteredDriver& driver, const boost::json::value& encoded_location,
      std::shared_ptr<const drivers::DriverManager::Target> known_target = nullptr);

  store::Store& store_;
  jobs::JobScheduler& scheduler_;
  drivers::DriverPools& pools_;
  drivers::DriverManager& drivers_;
  const drivers::DriverCatalog& catalog_;
  std::string fallback_driver_;
  const security::CredentialVault& vault_;
  MonitorOptions options_;
  std::function<void()> notify_outbox_;
  std::shared_ptr<Reporter> reporter_;
  std::shared_ptr<spdlog::logger> log_;
  // Executions whose monitoring ended, by how: complete, failed, request_not_found.
  prometheus::Family<prometheus::Counter>& ended_;
  prometheus::Counter& ended_complete_;
  prometheus::Counter& ended_failed_;
  prometheus::Counter& ended_not_found_;
  ClusterLink* cluster_ = nullptr;
  mutable std::mutex mutex_;  // guards the maps below
  // Cluster mode: executions this node owns and monitors, with the time
  // each was accepted (Unix ms), the order they are listed in.
  std::unordered_map<std::string, std::int64_t> held_;
  // Reports from drivers, by job (or by the driver's id while its job is
  // not known yet), until a poll takes them. One no job took within
  // monitoring.total_timeout is dropped (see `pushed`): its acceptance
  // failed, or it came after its job ended.
  struct PushedReport {
    sdk::LifecycleExecution execution;
    std::chrono::steady_clock::time_point arrived;
  };
  std::unordered_map<std::string, PushedReport> pushed_;
  std::size_t pushed_swept_size_ = 64;
  // Reports for an id the store did not know when they came, oldest first:
  // one whose execution is still unknown a while later names an id the
  // driver never returned (a slip an author makes), and is logged once.
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::string>> unmatched_reports_;
  // Runs a driver knows by an id of its own (a queued request was promised
  // another at acceptance): its reports come under the driver's id. Both
  // ways, so that an ending can forget them.
  std::unordered_map<std::string, std::string> job_of_driver_id_;
  std::unordered_map<std::string, std::string> driver_id_of_job_;
  // Executions in flight share one decoded copy of each deployment location
  // with its driver target (keyed by driver and location JSON): thousands at
  // one location should not hold thousands.
  std::unordered_map<std::string, std::weak_ptr<const Placement>> placements_;
  std::size_t placements_swept_size_ = 64;
  // Targets of executions whose event is not delivered yet (for the hook).
  std::unordered_map<std::string, std::shared_ptr<const Target>> awaiting_delivery_;
};

}  // namespace flint::service
