#include "app/application.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fcntl.h>
#include <fmt/ranges.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/metric_family.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <flint/sdk/version.hpp>

#include "api/drivers_api.hpp"
#include "api/events_api.hpp"
#include "api/execution_api.hpp"
#include "api/infrastructure_api.hpp"
#include "api/management_api.hpp"
#include "api/openapi_api.hpp"
#include "api/resource_driver_api.hpp"
#include "api/resource_driver_requests.hpp"
#include "app/builtin_drivers.hpp"
#include "app/listener_credentials.hpp"
#include "app/service_manager.hpp"
#include "cluster/cluster_node.hpp"
#include "cluster/request_queue.hpp"
#include "config/config_error.hpp"
#include "drivers/driver_call_probe.hpp"
#include "drivers/driver_catalog.hpp"
#include "drivers/driver_manager.hpp"
#include "drivers/driver_pools.hpp"
#include "drivers/driver_router.hpp"
#include "drivers/plugin_loader.hpp"
#include "events/event_log.hpp"
#include "events/event_log_publisher.hpp"
#include "events/kafka/kafka_event_publisher.hpp"
#include "events/outbox_probe.hpp"
#include "events/outbox_relay.hpp"
#include "files/package_cache.hpp"
#include "health/disk_check.hpp"
#include "health/health_registry.hpp"
#include "http/file_limit.hpp"
#include "http/http_server.hpp"
#include "jobs/job_scheduler.hpp"
#include "logging/fatal_signal.hpp"
#include "logging/logging.hpp"
#include "logging/thread_name.hpp"
#include "metrics/metrics_registry.hpp"
#include "security/bearer_tokens.hpp"
#include "security/credential_vault.hpp"
#include "service/execution_records.hpp"
#include "service/execution_retention.hpp"
#include "service/infrastructure_monitor.hpp"
#include "service/infrastructure_service.hpp"
#include "service/lifecycle_monitor.hpp"
#include "service/resource_driver_service.hpp"
#include "store/data_directory.hpp"
#include "store/flint_schema.hpp"
#include "store/store.hpp"

namespace flint::app {

namespace asio = boost::asio;
using health::HealthDetails;
using health::HealthStatus;
using std::chrono::steady_clock;

namespace {

prometheus::ClientMetric gauge(double value, const char* label = nullptr,
                               std::string label_value = {}) {
  prometheus::ClientMetric metric;
  if (label != nullptr) metric.label.push_back({label, std::move(label_value)});
  metric.gauge.value = value;
  return metric;
}

// The store and events vitals' figures for Prometheus, to trend growth and
// room over time. `events` is null without the event log.
metrics::MetricsRegistry::Collector data_directory_metrics(
    std::shared_ptr<health::DiskCheck> store, std::shared_ptr<health::DiskCheck> events) {
  return [store = std::move(store), events = std::move(events)] {
    const auto space = store->read();
    prometheus::MetricFamily size{
        "flint_database_size_bytes",
        "Size of each database file with its -wal, in the data directory",
        prometheus::MetricType::Gauge,
        {gauge(static_cast<double>(space.files_bytes), "database", "flint.db")}};
    if (events) {
      size.metric.push_back(
          gauge(static_cast<double>(events->read().files_bytes), "database", "events.db"));
    }
    std::vector families{std::move(size)};
    if (space.writable) {
      families.push_back({"flint_data_dir_free_bytes",
                          "Free space for unprivileged users on the data directory's file system",
                          prometheus::MetricType::Gauge,
                          {gauge(static_cast<double>(space.free_bytes))}});
    }
    return families;
  };
}

// Each vital as a number, so that Prometheus can alert on a DEGRADED vital
// as on any other series, without polling the health document.
metrics::MetricsRegistry::Collector health_status_metrics(const health::HealthRegistry& health) {
  return [&health] {
    prometheus::MetricFamily family{"flint_health_status",
                                    "Each health vital: 0 OK, 1 DEGRADED, 2 UNHEALTHY",
                                    prometheus::MetricType::Gauge,
                                    {}};
    for (const auto& [vital, status] : health.statuses()) {
      family.metric.push_back(gauge(static_cast<double>(status), "vital", vital));
    }
    return std::vector{std::move(family)};
  };
}

// The part of the host that serves the driver APIs, in construction
// order (destroyed in reverse): durable state first, its users after.
// The catalog and routers come first, though: checking them touches no disk.
struct DriverStack {
  std::unique_ptr<store::DataDirectory> data_dir;  // locked before any driver or store uses it
  std::unique_ptr<files::PackageCache> packages;
  std::unique_ptr<drivers::DriverCallProbe> probe;
  std::unique_ptr<drivers::DriverPools> pools;
  std::unique_ptr<drivers::DriverCatalog> catalog;
  std::unique_ptr<drivers::DriverRouter> router;
  std::unique_ptr<drivers::DriverRouter> infrastructure_router;  // with the Infrastructure API
  std::unique_ptr<drivers::DriverManager> drivers;
  std::unique_ptr<store::StoreProbe> store_probe;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<security::CredentialVault> vault;
  std::unique_ptr<events::EventLog> event_log;
  std::unique_ptr<events::EventLogPublisher> event_log_publisher;
  std::unique_ptr<events::KafkaEventPublisher> kafka_publisher;
  std::unique_ptr<events::OutboxProbe> outbox_probe;
  std::unique_ptr<events::OutboxRelay> relay;
  std::unique_ptr<jobs::JobScheduler> scheduler;
  std::unique_ptr<service::LifecycleMonitor> monitor;
  std::unique_ptr<service::InfrastructureMonitor> infrastructure_monitor;
  std::unique_ptr<service::ExecutionRetention> retention;  // unless kept forever
  std::unique_ptr<cluster::ClusterNode> cluster;           // cluster mode
  std::unique_ptr<service::ResourceDriverService> service;
  std::unique_ptr<cluster::RequestQueue> request_queue;  // with the request queue on
  std::unique_ptr<service::InfrastructureService> infrastructure_service;

  // Stops what runs on its own threads, in dependency order.
  bool stop(std::chrono::milliseconds grace) {
    // First the queued requests still running, then leave the cluster: the
    // others take this node's executions now.
    if (request_queue) request_queue->stop();
    if (cluster) cluster->stop();
    if (scheduler) scheduler->stop();
    if (retention) retention->stop();
    if (relay) relay->stop();
    if (pools && !pools->shutdown(grace)) return false;
    // Acceptances the last driver calls queued settle now, while everything
    // their completions touch is alive: an empty write commits after them.
    if (store) store->write([](store::Database&) {});
    return true;
  }
};

events::KafkaTopic kafka_topic(const config::HostConfig::KafkaTopic& topic) {
  return {.name = topic.name,
          .auto_create = topic.auto_create,
          .num_partitions = static_cast<int>(topic.num_partitions),
          .replication_factor = static_cast<int>(topic.replication_factor),
          .config = topic.config};
}

// The execution-state topic: compacted (its latest record per execution is
// the state) even when its settings name no policy (a policy without compact
// is refused with the configuration).
events::KafkaTopic state_topic(const config::HostConfig& config) {
  auto topic = kafka_topic(config.messaging.topics.execution_state);
  topic.config.try_emplace("cleanup.policy", "compact");
  return topic;
}

events::KafkaEventPublisher::Options kafka_options(const config::HostConfig& config) {
  const auto& messaging = config.messaging;
  const auto topic = kafka_topic;
  events::KafkaEventPublisher::Options options{.bootstrap_servers = messaging.connection_address,
                                               .client_config = messaging.config,
                                               .topics = {},
                                               .delivery_timeout = messaging.delivery_timeout};
  options.topics.emplace(std::string(service::LifecycleMonitor::kTopic),
                         topic(messaging.topics.lifecycle_execution_events));
  options.topics.emplace("infrastructure_task_events",
                         topic(messaging.topics.infrastructure_task_events));
  if (config.cluster.enabled) {
    auto state = state_topic(config);
    state.keyed = true;
    options.topics.emplace(std::string(service::ClusterLink::kStateTopic), std::move(state));
  }
  return options;
}

// The key sealing the cluster's state topic: the same on every node, so it
// is given (environment or file), never generated here.
security::CredentialVault cluster_key(const config::HostConfig& config) {
  if (const char* hex = std::getenv("FLINT_CLUSTER_KEY"); hex && *hex) {
    return security::CredentialVault::from_hex_key(hex, "FLINT_CLUSTER_KEY");
  }
  if (config.cluster.key_file.empty()) {
    throw std::runtime_error(
        "no cluster key is given (cluster mode and the request queue seal their Kafka records "
        "with it): set cluster.key_file (the same key file on every node) or FLINT_CLUSTER_KEY");
  }
  try {
    return security::CredentialVault::from_existing_key_file(config.cluster.key_file);
  } catch (const security::VaultError& e) {
    throw std::runtime_error(std::string("cluster.key_file: ") + e.what());
  }
}

// No flint.db, or one SQLite would take for new (zero bytes): a copy that
// failed, or a file left out of a restore, as much as a first start.
bool no_execution_records(const std::filesystem::path& records) {
  std::error_code error;
  const auto size = std::filesystem::file_size(records, error);
  return error == std::errc::no_such_file_or_directory || (!error && size == 0);
}

// Work in flight in flint.db, sealed with the key that was in use then, and
// one sealed payload of it to try a key on. Read as the file is, before the
// store opens it: a start refused for its key must not have migrated it
// first, out of reach of the binary that wrote it.
struct SealedWork {
  std::int64_t executions = 0;
  std::int64_t tasks = 0;
  std::optional<std::string> sample;
};

SealedWork sealed_work(const std::filesystem::path& records) {
  if (no_execution_records(records)) return {};
  // Opened for writing, as the store will: its checks name a file Flint's
  // user may not write. Not migrated.
  store::Database db(records, store::Synchronous::normal);
  const int version = db.known_schema_version(store::flint_schema().back().version);
  if (version == 0) return {};
  // Until schema 3 an execution's job was a row of `jobs`; since, it is in
  // its record, reached through the index of monitored executions (as a
  // restart resumes them: a scan would read every page of the records).
  const bool jobs_in_records = version >= 3;
  SealedWork work;
  auto count =
      db.prepare(jobs_in_records ? "SELECT count(*) FROM executions WHERE job IS NOT NULL"
                                 : "SELECT count(*) FROM jobs WHERE kind = 'lifecycle_execution'");
  count.step();
  work.executions = count.column_int(0);
  auto tasks =
      db.prepare(jobs_in_records ? "SELECT count(*) FROM jobs"
                                 : "SELECT count(*) FROM jobs WHERE kind <> 'lifecycle_execution'");
  tasks.step();
  work.tasks = tasks.column_int(0);
  auto job = db.prepare(
      jobs_in_records
          ? "SELECT job FROM executions WHERE job IS NOT NULL ORDER BY accepted_at LIMIT 1"
          : "SELECT payload FROM jobs WHERE kind = 'lifecycle_execution' LIMIT 1");
  auto task = db.prepare(
      jobs_in_records ? "SELECT payload FROM jobs LIMIT 1"
                      : "SELECT payload FROM jobs WHERE kind <> 'lifecycle_execution' LIMIT 1");
  if (job.step()) {
    work.sample = std::string(job.column_text(0));
  } else if (task.step()) {
    work.sample = std::string(task.column_text(0));
  }
  return work;
}

// The key sealing credentials at rest. The default file is Flint's to
// create; a named one is the operator's to provide: a typo, or a secret
// volume that did not mount, must not start with a new key that cannot open
// what was sealed before. Nor must a default key missing from a data
// directory whose work in flight it sealed (restored without it, say), nor
// another key in its place (the wrong secret mounted): every execution and
// task in flight would fail, for good. `store.accept_new_key` is the way on
// when the right key is lost for good.
security::CredentialVault store_vault(const config::HostConfig& config,
                                      const std::filesystem::path& records) {
  const SealedWork work = sealed_work(records);
  const bool in_flight = work.executions + work.tasks > 0;
  const std::string lost_for_good =
      "If it is lost for good, start with store.accept_new_key true (FLINT_STORE_ACCEPT_NEW_KEY="
      "true): Flint then fails them, with their events";
  const bool named = !config.store.key_file.empty();
  const auto path = named ? config.store.key_file : config.store.data_dir / "credentials.key";
  std::error_code error;
  if (!named && in_flight && !config.store.accept_new_key &&
      !std::filesystem::exists(path, error) && !error) {
    throw std::runtime_error(fmt::format(
        "store.data_dir: {} is missing, but {} holds {} executions and {} infrastructure tasks in "
        "flight, sealed with the key it held: restore that file (a new key could not open them, "
        "and they would all fail). {}",
        path.string(), records.string(), work.executions, work.tasks, lost_for_good));
  }
  std::optional<security::CredentialVault> vault;
  try {
    vault.emplace(named ? security::CredentialVault::from_existing_key_file(path)
                        : security::CredentialVault::from_key_file(path));
  } catch (const security::VaultError& e) {
    if (!named) throw;
    // How to make one only when there is none: an unreadable key is still
    // the one that sealed what is stored.
    if (std::filesystem::exists(path, error) || error) {
      throw std::runtime_error(fmt::format("store.key_file: {}", e.what()));
    }
    throw std::runtime_error(fmt::format(
        "store.key_file: {} (Flint creates only the default key, <store.data_dir>/credentials.key; "
        "a named key file must hold 32 random bytes, e.g. from head -c 32 /dev/urandom, with mode "
        "0600){}",
        e.what(),
        in_flight ? fmt::format("; {} holds {} executions and {} infrastructure tasks in flight "
                                "that only the key that sealed them opens",
                                records.string(), work.executions, work.tasks)
                  : std::string()));
  }
  if (work.sample) {
    try {
      vault->open(*work.sample);
    } catch (const security::VaultError&) {
      if (!config.store.accept_new_key) {
        throw std::runtime_error(fmt::format(
            "{}: {} does not open the {} executions and {} infrastructure tasks in flight in {}: "
            "they were sealed with another key (the wrong secret mounted?). Restore that key. {}",
            named ? "store.key_file" : "store.data_dir", path.string(), work.executions, work.tasks,
            records.string(), lost_for_good));
      }
      logging::logger("app")->warn(
          "{} does not open the {} executions and {} infrastructure tasks in flight; "
          "store.accept_new_key is true: they fail, with their events",
          path.string(), work.executions, work.tasks);
    }
  }
  return std::move(*vault);
}

// This node's name: cluster.node_id, or the host name.
std::string node_id(const config::HostConfig& config) {
  if (!config.cluster.node_id.empty()) return config.cluster.node_id;
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "flint";
  return name;
}

// A node that leaves a cluster keeps its copy of the cluster's records:
// those still in progress would answer IN_PROGRESS for good, since only the
// cluster monitors them and only the cluster's state topic ends them.
void refuse_cluster_leftovers(store::Store& store) {
  const auto in_progress = store.read(service::count_cluster_executions_in_progress);
  if (in_progress > 0) {
    throw std::runtime_error(fmt::format(
        "cluster.enabled: {} holds {} executions still in progress in this node's copy of a "
        "cluster's records; without the cluster nothing here monitors or ends them, and their "
        "status would read IN_PROGRESS for good. Start it with cluster.enabled true until they "
        "end, or give it a store.data_dir of its own to leave the cluster",
        store.path().string(), in_progress));
  }
}

void join_cluster(const config::HostConfig& config, metrics::MetricsRegistry& metrics,
                  health::HealthRegistry& health, DriverStack& stack) {
  // Executions accepted in single-node mode are monitored from this node's
  // store only; mixing them with the cluster's would let both pick them up.
  const auto local_jobs = stack.store->read(service::count_monitored_executions);
  if (local_jobs > 0) {
    throw std::runtime_error(fmt::format(
        "cluster.enabled: {} lifecycle executions accepted in single-node mode are still being "
        "monitored from {}; let them finish with cluster.enabled false first",
        local_jobs, stack.store->path().string()));
  }
  const auto& messaging = config.messaging;
  stack.cluster = std::make_unique<cluster::ClusterNode>(
      cluster::ClusterNode::Options{.client = {messaging.connection_address, messaging.config},
                                    .topic = state_topic(config),
                                    .consumer_group = config.job_queue.consumer_group_id,
                                    .node_id = node_id(config),
                                    .delivery_timeout = messaging.delivery_timeout,
                                    .session_timeout = config.cluster.session_timeout,
                                    .commit_interval = config.cluster.commit_interval,
                                    .first_poll_delay = config.monitoring.min_interval},
      cluster::StateCodec(cluster_key(config)), *stack.store, *stack.monitor, metrics.registry());
  stack.monitor->join_cluster(*stack.cluster);
  health.add("cluster", [node = stack.cluster.get()](HealthDetails& details) {
    return node->describe(details) ? HealthStatus::ok : HealthStatus::degraded;
  });
}

void start_durable_execution(const config::HostConfig& config, asio::io_context& io,
                             metrics::MetricsRegistry& metrics, health::HealthRegistry& health,
                             DriverStack& stack) {
  const auto sync =
      config.store.synchronous == "normal" ? store::Synchronous::normal : store::Synchronous::full;
  const auto records = config.store.data_dir / "flint.db";
  // The key before either database: a start it refuses changes neither.
  stack.vault = std::make_unique<security::CredentialVault>(store_vault(config, records));
  // The event log next: it tells whether a missing flint.db is a first start.
  if (config.events.log.enabled) {
    const bool no_records = no_execution_records(records);
    stack.event_log = std::make_unique<events::EventLog>(events::EventLogOptions{
        .path = config.store.data_dir / "events.db",
        .synchronous = sync,
        .max_age = config.events.retention.max_age,
        .max_events = static_cast<std::int64_t>(config.events.retention.max_count),
    });
    if (no_records && stack.event_log->last_seq() > 0) {
      throw std::runtime_error(fmt::format(
          "store.data_dir: flint.db is missing or empty, but events.db beside it holds {} "
          "events: the execution records and the work in flight they belong to would be lost "
          "without a word (a restore that left flint.db out?). Restore flint.db, or move "
          "events.db aside to start afresh",
          stack.event_log->last_seq()));
    }
  }
  stack.store_probe = std::make_unique<store::StoreProbe>(metrics.registry());
  stack.store = std::make_unique<store::Store>(
      store::Store::Options{
          .data_dir = config.store.data_dir, .synchronous = sync, .probe = stack.store_probe.get()},
      store::flint_schema());
  std::vector<events::EventPublisher*> publishers;
  if (stack.event_log) {
    stack.event_log_publisher = std::make_unique<events::EventLogPublisher>(
        *stack.event_log, std::vector<std::string>{std::string(service::ClusterLink::kStateTopic)});
    publishers.push_back(stack.event_log_publisher.get());
  }
  if (!config.messaging.connection_address.empty()) {
    stack.kafka_publisher = std::make_unique<events::KafkaEventPublisher>(kafka_options(config));
    publishers.push_back(stack.kafka_publisher.get());
  }
  stack.outbox_probe = std::make_unique<events::OutboxProbe>(metrics.registry());
  stack.relay = std::make_unique<events::OutboxRelay>(
      events::OutboxRelay::Options{
          .database = stack.store->path(),
          // One event log fsync (with store.synchronous: full) and one
          // deletion per 20 ms under load, not per batch.
          .sync_interval = std::chrono::milliseconds(20),
          .acknowledge =
              [store = stack.store.get()](const events::DeliveredRows& rows) {
                store->write_async(
                    [rows](store::Database& db) {
                      service::LifecycleMonitor::record_deliveries(db, rows);
                      auto remove = db.prepare("DELETE FROM outbox WHERE " + rows.condition(1));
                      rows.bind(remove, 1);
                      remove.run();
                    },
                    [through = rows.through](const std::exception_ptr& failure) {
                      if (!failure) return;
                      try {
                        std::rethrow_exception(failure);
                      } catch (const std::exception& e) {
                        logging::logger("events")->warn(
                            "cannot remove delivered events through outbox seq {} (they are "
                            "delivered again at the next start): {}",
                            through, e.what());
                      }
                    });
              },
          .on_database_error = [store = stack.store.get()](
                                   const store::SqliteError& error) { store->note_damage(error); }},
      std::move(publishers), *stack.outbox_probe);
  stack.scheduler = std::make_unique<jobs::JobScheduler>(
      io, jobs::JobScheduler::Options{.max_running = config.monitoring.max_running},
      metrics.registry());

  const auto& monitoring = config.monitoring;
  service::MonitorOptions options{
      .call_timeout = config.driver_calls.timeout,
      .total_timeout = monitoring.total_timeout,
      .max_outcome_size = monitoring.max_outcome_size,
      .polling = {.min_interval = monitoring.min_interval,
                  .max_interval = std::max(monitoring.min_interval, monitoring.max_interval)},
  };
  stack.monitor = std::make_unique<service::LifecycleMonitor>(
      *stack.store, *stack.scheduler, *stack.pools, *stack.drivers, *stack.catalog,
      config.resource_driver.driver, *stack.vault, options,
      [relay = stack.relay.get()] { relay->notify(); }, metrics.registry());
  stack.relay->on_delivered(
      [monitor = stack.monitor.get()](std::span<const events::OutboxEvent> batch) {
        std::vector<service::LifecycleMonitor::DeliveredEvent> delivered;
        delivered.reserve(batch.size());
        for (const events::OutboxEvent& event : batch) {
          if (event.key) delivered.push_back({event.topic, *event.key});
        }
        monitor->on_delivered(delivered);
      });
  stack.infrastructure_monitor = std::make_unique<service::InfrastructureMonitor>(
      *stack.store, *stack.scheduler, *stack.pools, *stack.drivers, *stack.catalog, *stack.vault,
      options, [relay = stack.relay.get()] { relay->notify(); }, metrics.registry());
  if (config.cluster.enabled) {
    join_cluster(config, metrics, health, stack);
  } else {
    refuse_cluster_leftovers(*stack.store);
  }
  if (config.store.execution_retention.count() > 0) {
    stack.retention = std::make_unique<service::ExecutionRetention>(
        *stack.store, io,
        service::ExecutionRetention::Options{.max_age = config.store.execution_retention},
        metrics.registry());
    stack.retention->start();
  }
  stack.relay->start();
  const std::size_t resumed = stack.monitor->resume();
  if (resumed > 0) {
    logging::logger("app")->info("resumed monitoring of {} unfinished executions", resumed);
  }
  const std::size_t resumed_tasks = stack.infrastructure_monitor->resume();
  if (resumed_tasks > 0) {
    logging::logger("app")->info("resumed monitoring of {} unfinished infrastructure tasks",
                                 resumed_tasks);
  }

  if (stack.cluster) stack.cluster->start();

  auto store_files = std::make_shared<health::DiskCheck>(
      config.store.data_dir, std::vector<std::string>{"flint.db", "flint.db-wal"});
  health.add("store", [store = stack.store.get(), disk = store_files](HealthDetails& details) {
    details.set("path", store->path().string());
    const auto space = disk->read();
    details.set("size_bytes", space.files_bytes);
    auto status = HealthStatus::ok;
    if (!space.writable) {
      details.set("error", "the data directory is not a writable directory");
      status = HealthStatus::degraded;
    } else {
      details.set("disk_free_bytes", space.free_bytes);
      // Warned before writes fail: a full disk refuses every execute.
      if (space.low()) status = HealthStatus::degraded;
    }
    // Records on the damaged pages answer 500 and their retention stops;
    // the rest still works, as with a damaged event log.
    if (const std::string damage = store->damage(); !damage.empty()) {
      details.set("damaged", damage);
      status = HealthStatus::degraded;
    }
    // A full disk or an I/O error: executes are refused with 503 meanwhile.
    if (const auto failure = store->write_failure()) {
      details.set("last_error", failure->error);
      const auto since =
          std::chrono::duration_cast<std::chrono::milliseconds>(failure->since.time_since_epoch());
      details.set("since", service::iso8601_utc(since.count()));
      status = HealthStatus::degraded;
    }
    return status;
  });
  health.add("jobs", [scheduler = stack.scheduler.get()](HealthDetails& details) {
    details.set("scheduled", scheduler->size());
    details.set("running", scheduler->running());
    return HealthStatus::ok;
  });
  auto event_files = std::make_shared<health::DiskCheck>(
      config.store.data_dir, std::vector<std::string>{"events.db", "events.db-wal"});
  health.add("events", [log = stack.event_log.get(), relay = stack.relay.get(),
                        disk = event_files](HealthDetails& details) {
    details.set("delivered", relay->delivered());
    if (!log) return HealthStatus::ok;
    details.set("last_seq", log->last_seq());
    details.set("size_bytes", disk->read().files_bytes);
    // A damaged file shows here, not only as 500s to its readers.
    if (const std::string error = log->read_error(); !error.empty()) {
      details.set("error", error);
      return HealthStatus::degraded;
    }
    return HealthStatus::ok;
  });
  metrics.add_collector(
      data_directory_metrics(store_files, stack.event_log ? event_files : nullptr));
  if (stack.kafka_publisher) {
    health.add(
        "messaging", [kafka = stack.kafka_publisher.get(), relay = stack.relay.get(),
                      servers = config.messaging.connection_address](HealthDetails& details) {
          const auto status = kafka->status();
          details.set("bootstrap_servers", servers);
          details.set("backlog", relay->backlog());
          // A topic refused while the others go on: its events wait.
          const auto held = relay->held();
          if (!held.empty()) {
            details.set("held_topics", fmt::format("{}", fmt::join(std::views::keys(held), ", ")));
          }
          if (status.healthy && held.empty()) return HealthStatus::ok;
          // Events wait in the outbox (see flint_outbox_backlog); nothing is lost.
          details.set("error", status.healthy ? held.begin()->second : status.last_error);
          return HealthStatus::degraded;
        });
  }
}

// Closes per-target driver instances left idle and forgets the breakers of
// quiet locations, now and then, on a driver thread (closing runs driver code).
asio::awaitable<void> evict_idle_instances(drivers::DriverManager& manager,
                                           drivers::DriverExecutor& executor,
                                           std::chrono::milliseconds period) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(period);
    co_await timer.async_wait(asio::use_awaitable);
    executor.submit({"host", "evict_idle_instances", steady_clock::now() + period},
                    [&manager] { manager.evict_idle(); });
  }
}

// The drivers: built-in ones, then libraries from drivers.dirs; their
// settings and the routing rules. Only checks and registrations: a driver
// name, setting or library that is wrong stops the start before anything
// is created on disk.
void load_drivers(const config::HostConfig& config, DriverStack& stack) {
  const auto log = logging::logger("app");
  stack.catalog = std::make_unique<drivers::DriverCatalog>();
  stack.catalog->add("built-in", [&config](sdk::DriverRegistrar& registrar) {
    register_builtin_drivers(registrar, config);
  });
  std::vector<std::filesystem::path> dirs(config.drivers.dirs.begin(), config.drivers.dirs.end());
  auto load_errors = drivers::load_driver_libraries(dirs, *stack.catalog);
  if (!load_errors.empty()) {
    if (config.drivers.on_load_error == "fail") {
      std::vector<std::string> problems;
      for (const auto& error : load_errors) {
        problems.push_back("driver library " + error.file + ": " + error.message);
      }
      problems.push_back("(set drivers.on_load_error: skip to start without them)");
      throw config::ConfigError(std::move(problems));
    }
    for (auto& error : load_errors) {
      log->error("driver library {} skipped: {}", error.file, error.message);
      stack.catalog->add_load_error(std::move(error));
    }
  }
  for (const auto& driver : stack.catalog->drivers()) {
    if (driver.origin != "built-in") {
      log->info("loaded {} driver '{}' {} from {}", sdk::to_string(driver.kind), driver.info.name,
                driver.info.version, driver.origin);
    }
  }
  stack.catalog->configure(config.drivers.settings);
  const auto& routes = config.resource_driver.routes;
  stack.router = std::make_unique<drivers::DriverRouter>(
      *stack.catalog, sdk::DriverKind::resource, "resource_driver",
      drivers::DriverRoutes{.default_driver = config.resource_driver.driver,
                            .by_location_type = routes.location_type,
                            .by_vendor_model = routes.vendor_model});
  if (config.bootstrap.infrastructure.api_enabled) {
    const auto& infrastructure = config.infrastructure_driver;
    stack.infrastructure_router = std::make_unique<drivers::DriverRouter>(
        *stack.catalog, sdk::DriverKind::infrastructure, "infrastructure_driver",
        drivers::DriverRoutes{.default_driver = infrastructure.driver,
                              .by_location_type = infrastructure.routes.location_type,
                              .by_vendor_model = infrastructure.routes.vendor_model});
  }
}

// The manager of the drivers' instances, once the data directory is theirs.
void start_driver_manager(const config::HostConfig& config, asio::io_context& io,
                          metrics::MetricsRegistry& metrics, health::HealthRegistry& health,
                          DriverStack& stack) {
  const auto& instances = config.drivers.instances;
  stack.drivers = std::make_unique<drivers::DriverManager>(
      *stack.catalog,
      drivers::DriverManager::Options{
          .expire_after_access = instances.expire_after_access,
          .max_instances = instances.max,
          .breaker = {.failure_threshold = config.drivers.breaker.failure_threshold,
                      .open_duration = config.drivers.breaker.open_duration}},
      metrics.registry());
  std::vector<std::string> routed = stack.router->routed_drivers();
  if (stack.infrastructure_router) {
    for (auto& name : stack.infrastructure_router->routed_drivers()) routed.push_back(name);
  }
  stack.drivers->warm_up(routed);
  const auto period =
      instances.expire_after_access.count() > 0
          ? std::clamp(instances.expire_after_access / 2, std::chrono::milliseconds(100),
                       std::chrono::milliseconds(30'000))
          : std::chrono::milliseconds(30'000);
  asio::co_spawn(io, evict_idle_instances(*stack.drivers, stack.pools->shared(), period),
                 asio::detached);
  health.add("drivers", [catalog = stack.catalog.get(),
                         manager = stack.drivers.get()](HealthDetails& details) {
    details.set("registered", catalog->drivers().size());
    // Targets failing fast; the host itself still serves every other target.
    details.set("open_breakers", manager->open_breakers());
    auto status = HealthStatus::ok;
    // A driver that said it cannot serve (the netns driver without its
    // capabilities): every request routed to it will be refused.
    if (const auto unavailable = manager->unavailable(); !unavailable.empty()) {
      boost::json::object reasons;
      for (const auto& [driver, reason] : unavailable) reasons[driver] = reason;
      details.set("unavailable", std::move(reasons));
      status = HealthStatus::degraded;
    }
    if (catalog->load_errors().empty()) return status;
    boost::json::array skipped;
    for (const auto& error : catalog->load_errors()) {
      skipped.push_back(boost::json::object{{"file", error.file}, {"error", error.message}});
    }
    details.set("skipped_libraries", std::move(skipped));
    return HealthStatus::degraded;
  });
}

DriverStack start_driver_stack(const config::HostConfig& config, asio::io_context& io,
                               metrics::MetricsRegistry& metrics, health::HealthRegistry& health) {
  DriverStack stack;
  load_drivers(config, stack);
  // Where Flint keeps state and runs drivers' code from, checked together:
  // an operator fixing modes (after an upgrade, say) sees every one at once.
  std::vector<std::pair<std::string_view, std::filesystem::path>> directories{
      {"store.data_dir", config.store.data_dir},
      {"resource_driver.scripts_workspace", config.resource_driver.scripts_workspace}};
  // The drivers' own: when set, and also when left in the data directory
  // but there already (its mode may be anything: restored, made by hand).
  for (const auto& [key, directory, configured] :
       {std::tuple{"drivers.netns.state_dir", netns_state_dir(config),
                   !config.drivers.netns.state_dir.empty()},
        std::tuple{"drivers.script.executions_dir", script_executions_dir(config),
                   !config.drivers.script.executions_dir.empty()},
        std::tuple{"drivers.noop.state_dir", config.drivers.noop.state_dir,
                   !config.drivers.noop.state_dir.empty()}}) {
    std::error_code error;
    if (configured || std::filesystem::exists(directory, error)) {
      directories.emplace_back(key, directory);
    }
  }
  std::vector<std::string> problems;
  for (const auto& [key, directory] : directories) {
    try {
      store::prepare_private_directory(directory, key);
    } catch (const std::runtime_error& e) {
      problems.emplace_back(e.what());
    }
  }
  if (!problems.empty()) throw std::runtime_error(fmt::format("{}", fmt::join(problems, "; ")));
  stack.data_dir = std::make_unique<store::DataDirectory>(config.store.data_dir);
  const auto& files = config.driver_files;
  stack.packages = std::make_unique<files::PackageCache>(files::PackageCacheOptions{
      .root = config.resource_driver.scripts_workspace,
      .limits = {.max_entries = files.max_entries,
                 .max_total_bytes = files.max_total_size,
                 .max_entry_bytes = files.max_entry_size,
                 .max_compression_ratio = static_cast<double>(files.max_compression_ratio),
                 .max_path_length = files.max_path_length},
      .max_cache_bytes = files.cache_size,
  });
  stack.probe = std::make_unique<drivers::DriverCallProbe>(metrics.registry());
  try {
    stack.pools = std::make_unique<drivers::DriverPools>(
        drivers::DriverExecutor::Options{.threads = config.driver_calls.threads,
                                         .queue_size = config.driver_calls.queue_size},
        config::dedicated_thread_counts(config), *stack.probe);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(fmt::format(
        "{} (lower it, or raise the limit on processes: ulimit -u, systemd TasksMax)", e.what()));
  }
  start_driver_manager(config, io, metrics, health, stack);
  for (const auto& [driver, threads] : config.driver_calls.dedicated_threads) {
    if (stack.catalog->find(driver) == nullptr) {
      logging::logger("app")->warn(
          "driver_calls.dedicated_threads.{}: no driver of that name is loaded; its {} threads "
          "stay idle",
          driver, threads);
    }
  }
  start_durable_execution(config, io, metrics, health, stack);
  stack.service = std::make_unique<service::ResourceDriverService>(
      *stack.router, *stack.drivers, *stack.packages, *stack.pools, config.driver_calls.timeout,
      stack.monitor.get());
  if (const auto& queue = config.resource_driver.lifecycle_request_queue; queue.enabled) {
    const auto& messaging = config.messaging;
    stack.request_queue = std::make_unique<cluster::RequestQueue>(
        cluster::RequestQueue::Options{.client = {messaging.connection_address, messaging.config},
                                       .topic = kafka_topic(queue.topic),
                                       .failed_topic = kafka_topic(queue.failed_topic),
                                       .group_id = queue.group_id,
                                       .node_id = node_id(config),
                                       .max_concurrency = queue.max_concurrency,
                                       .retries = static_cast<std::uint32_t>(queue.retries),
                                       .delivery_timeout = messaging.delivery_timeout,
                                       .session_timeout = config.cluster.session_timeout,
                                       .commit_interval = config.cluster.commit_interval},
        cluster_key(config), api::decode_execute_request, *stack.service, *stack.monitor,
        stack.pools->shared(), io, metrics.registry());
    stack.request_queue->start();
    health.add("request_queue", [queue = stack.request_queue.get()](HealthDetails& details) {
      return queue->describe(details) ? HealthStatus::ok : HealthStatus::degraded;
    });
  }
  if (stack.infrastructure_router) {
    stack.infrastructure_service = std::make_unique<service::InfrastructureService>(
        *stack.infrastructure_router, *stack.drivers, *stack.pools, config.driver_calls.timeout,
        *stack.infrastructure_monitor);
  }

  health.add("driver_calls", [pools = stack.pools.get()](HealthDetails& details) {
    // A queue filling up means driver calls are slower than requests arrive.
    const auto filling = [](const drivers::DriverExecutor& pool) {
      return pool.queued() * 5 >= pool.options().queue_size * 4;
    };
    const auto& shared = pools->shared();
    details.set("threads", shared.options().threads);
    details.set("running", shared.running());
    details.set("queued", shared.queued());
    details.set("queue_size", shared.options().queue_size);
    bool degraded = filling(shared);
    boost::json::object dedicated;
    pools->for_each_dedicated([&](std::string_view driver, const drivers::DriverExecutor& pool) {
      dedicated[driver] = {{"threads", pool.options().threads},
                           {"running", pool.running()},
                           {"queued", pool.queued()},
                           {"queue_size", pool.options().queue_size}};
      degraded = degraded || filling(pool);
    });
    if (!dedicated.empty()) details.set("dedicated", dedicated);
    return degraded ? HealthStatus::degraded : HealthStatus::ok;
  });
  health.add("driver_files",
             [packages = stack.packages.get(), cap = files.cache_size, entries = files.max_entries,
              disk = std::make_shared<health::DiskCheck>(stack.packages->root())](
                 health::HealthDetails& details) {
               const auto stats = packages->stats();
               const auto space = disk->read();
               details.set("workspace", disk->path().string());
               details.set("packages", stats.entries);
               details.set("bytes", stats.bytes_in_use);
               details.set("cache_size", cap);
               details.set("hits", stats.hits);
               details.set("misses", stats.misses);
               details.set("rejected", stats.extraction_failures);
               if (!space.writable) {
                 details.set("error", "workspace is not a writable directory");
                 return HealthStatus::unhealthy;
               }
               details.set("disk_free_bytes", space.free_bytes);
               if (space.free_inodes) details.set("disk_free_inodes", *space.free_inodes);
               // Extraction needs room: short of space, or with fewer inodes than
               // one package may have entries, new packages will soon fail.
               const bool short_of_inodes = space.free_inodes && *space.free_inodes < entries;
               return space.low() || short_of_inodes ? HealthStatus::degraded : HealthStatus::ok;
             });
  return stack;
}

// Waits for connections to finish their requests, and for the queued
// requests running on the I/O threads, up to the grace period, then closes
// what is left and stops the loop (a queued run stopped with it would hold
// the queue's own stop, and no log or metric would tell of its end).
asio::awaitable<void> drain(http::HttpServer& server, const cluster::RequestQueue* queue,
                            asio::io_context& io, std::chrono::milliseconds grace) {
  asio::steady_timer timer(io);
  const auto deadline = steady_clock::now() + grace;
  const auto busy = [&] {
    return server.open_connections() > 0 || (queue != nullptr && queue->running() > 0);
  };
  while (busy() && steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(asio::use_awaitable);
  }
  if (server.open_connections() > 0) {
    logging::logger("app")->warn("{} connections still open after http.shutdown_timeout; closing",
                                 server.open_connections());
    server.close_all();
    timer.expires_after(std::chrono::milliseconds(100));
    co_await timer.async_wait(asio::use_awaitable);
  }
  io.stop();
}

// SIGHUP reads the listener's TLS and token files again, as daemons do: a
// renewed certificate or a rotated token needs no restart. What cannot be
// read leaves the previous files in use, and says why.
asio::awaitable<void> reload_on_hangup(asio::posix::stream_descriptor& hangups,
                                       ListenerCredentials& credentials, http::HttpServer& server,
                                       prometheus::Family<prometheus::Counter>& reloads,
                                       ServiceManager& service_manager, std::string status) {
  const auto log = logging::logger("app");
  auto& succeeded = reloads.Add({{"outcome", "ok"}});
  auto& failed = reloads.Add({{"outcome", "failed"}});
  // Those that came during the start asked for nothing the start did not read.
  // (Not Asio's read_some: it would wait for one. The eventfd never blocks.)
  std::uint64_t count = 0;
  [[maybe_unused]] const auto drained = ::read(hangups.native_handle(), &count, sizeof count);
  for (;;) {
    // Every SIGHUP since the last read, as one reload.
    auto [ec, size] = co_await hangups.async_read_some(asio::buffer(&count, sizeof count),
                                                       asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    // Every SIGHUP is a reload to systemd (`systemctl reload`), even one
    // with nothing to read: it waits for the READY that ends it.
    service_manager.reloading();
    // A failed reload still ends with READY (the protocol has no failure for
    // one): its STATUS says so, in `systemctl status`, until one succeeds.
    std::string reload_failure;
    if (!credentials.any()) {
      log->info("received SIGHUP: nothing to read again (no http.tls.* or http.auth.tokens_file)");
    } else {
      try {
        const std::string read = credentials.reload();
        if (auto tls = credentials.tls()) server.replace_tls(std::move(tls));
        succeeded.Increment();
        log->info("received SIGHUP: read {}", read);
      } catch (const std::exception& e) {
        failed.Increment();
        log->error("received SIGHUP: {}; still using the files read before", e.what());
        reload_failure = fmt::format(
            "; the last reload failed ({}), the files read before are in "
            "use",
            e.what());
      }
    }
    service_manager.ready(status + reload_failure);
  }
}

// Feeds systemd's watchdog (`WatchdogSec=`) from the loop that runs the
// host's timers and scheduler: when that loop stalls, the pings stop and
// systemd restarts the service. Twice per period, as sd_watchdog_enabled(3)
// advises.
asio::awaitable<void> feed_watchdog(ServiceManager& service_manager) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    service_manager.watchdog();
    timer.expires_after(service_manager.watchdog_timeout() / 2);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
  }
}

// Runs `loop` until it stops. An exception a handler lets escape (memory
// running out inside an I/O operation, say) is logged and the loop goes on:
// out of run(), it would end the process (std::terminate), and every
// connection with it.
void run_loop(asio::io_context& loop) {
  for (;;) {
    try {
      loop.run();
      return;
    } catch (const std::exception& e) {
      logging::logger("app")->error("an event handler failed: {}; serving on", e.what());
    }
  }
}

// Where the SIGHUP handler counts hangups: an eventfd open for the life of
// the process, so that the handler never writes into a descriptor reused for
// something else. -1 when it could not be made: hangups are then absorbed.
std::atomic<int> hangup_events{-1};

void count_hangup(int) {
  const int saved_errno = errno;
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto written = ::write(hangup_events.load(), &one, sizeof one);
  errno = saved_errno;
}

// The reload loop's end of the hangup count (a descriptor of its own: the
// handler's stays open), or nullopt when there is none.
std::optional<asio::posix::stream_descriptor> hangup_reader(asio::io_context& io) {
  const int events = hangup_events.load();
  const int reader = events < 0 ? -1 : ::fcntl(events, F_DUPFD_CLOEXEC, 0);
  if (reader < 0) return std::nullopt;
  return asio::posix::stream_descriptor(io, reader);
}

}  // namespace

void absorb_hangups() {
  // The handler is installed once and never taken away: Asio's signal_set
  // gave SIGHUP its default action back when it went, and a SIGHUP in that
  // moment, at the end of a stop, ended the process with status 129.
  static const bool installed = [] {
    hangup_events.store(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    struct sigaction action {};
    action.sa_handler = count_hangup;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    return ::sigaction(SIGHUP, &action, nullptr) == 0;
  }();
  (void)installed;
}

Application::Application(config::HostConfig config) : config_(std::move(config)) {}

Application::~Application() = default;

int Application::run() {
  const auto log_format =
      config_.logging.type == "logstash" ? logging::LogFormat::logstash : logging::LogFormat::flat;
  logging::configure({.level = config_.logging.level, .format = log_format});
  logging::install_fatal_signal_report(log_format);
  logging::set_thread_name("main");
  const auto log = logging::logger("app");
  const auto started = steady_clock::now();
  // Before any thread starts: it edits the environment.
  ServiceManager service_manager = ServiceManager::from_environment();
  // Each connection takes a descriptor: a soft limit below the hard one only
  // makes the listener run out sooner.
  const auto files = http::raise_open_file_limit();
  log->debug("limit on open files (RLIMIT_NOFILE): {} (was {}; hard limit {})", files.soft,
             files.soft_before, files.hard);
  // Each running script holds one too (its pidfd).
  const std::size_t scripts = config_.drivers.script.max_concurrent;
  if (files.soft > 0 &&
      config_.http.max_connections + http::kReservedFileDescriptors + scripts > files.soft) {
    log->warn(
        "http.max_connections ({}) plus {} descriptors kept for the host's own files plus {} for "
        "running scripts (drivers.script.max_concurrent) exceeds the limit on open files ({}): "
        "under load, connections will wait unanswered instead of getting 503; raise the limit "
        "(ulimit -n, systemd LimitNOFILE) or lower http.max_connections (docs/operations.md, "
        "Limits)",
        config_.http.max_connections, http::kReservedFileDescriptors, scripts, files.soft);
  }
  // Read first: a bad token or TLS file fails the start before anything runs.
  ListenerCredentials credentials(config_.http);
  const bool tls = credentials.tls() != nullptr;
  const bool tokens = credentials.token_count() > 0;

  metrics::MetricsRegistry metrics;
  health::HealthRegistry health;
  http::HttpProbe http_probe(metrics.registry());
  http::Router router;
  // One event loop per I/O thread, each run by its own thread. The first
  // also runs the host's own timers and coroutines (scheduler, signals);
  // connections are spread over all of them. The others are declared first
  // so that they are destroyed last: an accept still queued in `io` at
  // exit holds a socket of one of them.
  std::vector<std::unique_ptr<asio::io_context>> more_loops;
  asio::io_context io(1);
  std::vector<asio::io_context*> connection_loops{&io};
  for (std::size_t i = 1; i < config_.application.io_threads; ++i) {
    connection_loops.push_back(
        more_loops.emplace_back(std::make_unique<asio::io_context>(1)).get());
  }

  const bool driver_api = config_.bootstrap.resource_driver.api_enabled;
  const bool infrastructure_api = config_.bootstrap.infrastructure.api_enabled;
  health.add("app", [started, driver_api, infrastructure_api,
                     driver = config_.resource_driver.driver,
                     infrastructure_driver =
                         config_.infrastructure_driver.driver](HealthDetails& details) {
    details.set("version", FLINT_SDK_VERSION_STRING);
    details.set(
        "uptime_seconds",
        std::chrono::duration_cast<std::chrono::seconds>(steady_clock::now() - started).count());
    if (driver_api) details.set("resource_driver", driver);
    if (infrastructure_api) details.set("infrastructure_driver", infrastructure_driver);
    return HealthStatus::ok;
  });

  DriverStack stack;
  if (driver_api || infrastructure_api) {
    stack = start_driver_stack(config_, io, metrics, health);
    if (driver_api) {
      api::add_resource_driver_routes(router, *stack.service, stack.request_queue.get());
      api::add_execution_routes(router, *stack.monitor);
    }
    if (infrastructure_api) api::add_infrastructure_routes(router, *stack.infrastructure_service);
    api::add_drivers_route(router, *stack.catalog, *stack.drivers,
                           driver_api ? stack.router.get() : nullptr,
                           stack.infrastructure_router.get());
    if (config_.bootstrap.events.api_enabled && stack.event_log) {
      api::add_event_routes(router, *stack.event_log);
    }
  }

  const auto& http_config = config_.http;
  http::ServerOptions server_options{.host = config_.application.host,
                                     .port = config_.application.port,
                                     .max_header_bytes = http_config.max_header_size,
                                     .max_body_bytes = http_config.max_body_size,
                                     .read_timeout = http_config.read_timeout,
                                     .idle_timeout = http_config.idle_timeout,
                                     .max_connections = http_config.max_connections,
                                     .tls = credentials.tls()};
  if (tokens) {
    log->info("HTTP authentication on: {} bearer tokens; public paths: {}",
              credentials.token_count(), fmt::join(http_config.auth.public_paths, ", "));
    server_options.authorize = credentials.authorizer();
    server_options.public_paths = http_config.auth.public_paths;
  }
  http::HttpServer server(io, std::move(server_options), router, http_probe, connection_loops);
  health.add("http", [&server, max = http_config.max_connections](HealthDetails& details) {
    const std::size_t open = server.open_connections();
    details.set("connections", open);
    details.set("max_connections", max);
    return open * 10 >= max * 9 ? HealthStatus::degraded : HealthStatus::ok;
  });
  if (config_.bootstrap.management.api_enabled) api::add_health_route(router, health);
  if (config_.bootstrap.metrics.enabled) {
    metrics.add_collector(health_status_metrics(health));
    api::add_metrics_route(router, metrics);
  }
  if (config_.bootstrap.openapi.enabled) {
    // Each API's document only with the API: a document of routes that 404
    // would mislead.
    if (driver_api) api::add_openapi_routes(router, config_.api.swagger_ui_dir);
    if (infrastructure_api) {
      api::add_infrastructure_openapi_routes(router, config_.api.swagger_ui_dir);
    }
  }

  server.start();
  const std::string& host = config_.application.host;
  const std::string status = fmt::format(
      "listening on {}://{}:{} ({} I/O threads{}{})", tls ? "https" : "http",
      // An IPv6 literal is bracketed in a URL (RFC 3986).
      host.find(':') == std::string::npos ? host : "[" + host + "]", server.port(),
      config_.application.io_threads,
      tls && !config_.http.tls.client_ca_file.empty() ? ", client certificates required" : "",
      driver_api ? ", resource driver '" + config_.resource_driver.driver + "'" : "");
  log->info("Flint {} {}", FLINT_SDK_VERSION_STRING, status);
  service_manager.ready(status);

  if (const auto bound = asio::ip::make_address(config_.application.host);
      !bound.is_loopback() && (!tls || !tokens)) {
    // Loud, not refused: a private network may be what the operator meant.
    log->warn(
        "application.host {} serves other hosts{}{}: turn both on for anything but a trusted "
        "network (docs/operations.md)",
        config_.application.host, tls ? "" : " without TLS (http.tls.*)",
        tokens ? ""
               : (tls ? " without authentication (http.auth.tokens_file)"
                      : " and without authentication (http.auth.tokens_file)"));
  }

  asio::signal_set signals(io, SIGINT, SIGTERM);
  auto stop_deadline = steady_clock::time_point::max();
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    stop_deadline = steady_clock::now() + http_config.shutdown_timeout;
    log->info("received {}; stopping: no new connections, finishing requests in flight",
              signal == SIGINT ? "SIGINT" : "SIGTERM");
    service_manager.stopping();
    server.begin_shutdown();
    // Queued requests still running finish on the I/O threads: no new ones.
    if (stack.request_queue) stack.request_queue->begin_stop();
    if (stack.event_log) stack.event_log->stop_waiting();  // end long polls now
    asio::co_spawn(io, drain(server, stack.request_queue.get(), io, http_config.shutdown_timeout),
                   asio::detached);
  });

  auto& reloads = prometheus::BuildCounter()
                      .Name("flint_credential_reloads_total")
                      .Help("SIGHUP reloads of the listener's TLS and token files, by outcome")
                      .Register(metrics.registry());
  absorb_hangups();  // for a caller that did not
  auto hangups = hangup_reader(io);
  if (hangups) {
    asio::co_spawn(
        io, reload_on_hangup(*hangups, credentials, server, reloads, service_manager, status),
        asio::detached);
  } else {
    log->warn("SIGHUP will not reload the listener's files: no eventfd to count signals in");
  }
  if (service_manager.watchdog_timeout().count() > 0) {
    asio::co_spawn(io, feed_watchdog(service_manager), asio::detached);
  }

  std::vector<std::thread> threads;
  // An I/O thread that cannot start (the limit on processes, memory) stops
  // the host as a signal would, minus the serving: the threads started are
  // joined and the driver stack stops in order, then run() fails.
  std::string start_failure;
  try {
    for (std::size_t i = 0; i < more_loops.size(); ++i) {
      threads.emplace_back([loop = more_loops[i].get(), i] {
        logging::set_thread_name("io-" + std::to_string(i + 1));
        // Idle until a connection comes: kept running until the host stops.
        auto running = asio::make_work_guard(*loop);
        run_loop(*loop);
      });
    }
  } catch (const std::system_error& e) {
    start_failure = fmt::format(
        "application.io_threads: cannot start I/O thread {} of {}: {} (lower it, or raise the "
        "limit on processes: ulimit -u, systemd TasksMax)",
        threads.size() + 2, config_.application.io_threads, e.code().message());
  }
  logging::set_thread_name("io-0");
  if (start_failure.empty()) run_loop(io);
  // The drain is over (or the loop failed): what is left on the others stops too.
  for (auto& loop : more_loops) loop->stop();
  for (auto& thread : threads) thread.join();
  if (stop_deadline == steady_clock::time_point::max()) {
    stop_deadline = steady_clock::now() + http_config.shutdown_timeout;
  }

  // One grace period for the whole stop: what the connection drain used is
  // not given again to driver calls.
  const auto remaining = std::max(
      std::chrono::milliseconds(0),
      std::chrono::duration_cast<std::chrono::milliseconds>(stop_deadline - steady_clock::now()));
  if (!stack.stop(remaining)) {
    log->error("{} driver calls still running after http.shutdown_timeout; exiting without them",
               stack.pools->running());
    // Their detached threads still use the driver, the executor and the
    // metrics: running any destructor now would pull those from under them.
    logging::flush();
    std::fflush(nullptr);
    std::_Exit(start_failure.empty() ? 0 : 1);
  }
  if (!start_failure.empty()) throw std::runtime_error(start_failure);
  log->info("stopped");
  return 0;
}

}  // namespace flint::app
