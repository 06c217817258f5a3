#pragma once

/// @file
/// The Flint host's options, typed, loaded from `flint.yaml` and `FLINT_*`
/// variables. The key table in host_config.cpp is the single source of truth
/// for loading, `effective_yaml` and docs/configuration.md.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config_schema.hpp"
#include "config/environment.hpp"

namespace flint::config {

/// Every option of the host. Get one from `load_host_config`: a
/// value-initialised `HostConfig` holds zeros, not the defaults (those live in
/// the schema only). Enumerations hold one of their allowed values in the
/// spelling of the docs. A plain value: copy it freely.
struct HostConfig {
  /// `application.*`: the HTTP listener.
  struct Application {
    std::string host;          ///< bind address
    std::uint16_t port{};      ///< TCP port; 0 = ephemeral (logged at start)
    std::size_t io_threads{};  ///< threads running the network loop (>= 1)
  } application;

  /// `http.*`: limits of the HTTP server.
  struct Http {
    std::uint64_t max_header_size{};               ///< bytes of request line + headers
    std::uint64_t max_body_size{};                 ///< bytes of a request body
    std::chrono::milliseconds read_timeout{};      ///< the whole request must arrive within it
    std::chrono::milliseconds idle_timeout{};      ///< keep-alive idle time before closing
    std::chrono::milliseconds shutdown_timeout{};  ///< grace for in-flight requests on SIGTERM
    std::size_t max_connections{};                 ///< open connections at most
    struct Tls {
      std::filesystem::path cert_file;       ///< PEM chain; empty = plain HTTP
      std::filesystem::path key_file;        ///< PEM private key
      std::filesystem::path client_ca_file;  ///< set = clients need a certificate from these
    } tls;
    struct Auth {
      std::filesystem::path tokens_file;      ///< bearer tokens; empty = no authentication
      std::vector<std::string> public_paths;  ///< served without a token
    } auth;
  } http;

  /// `driver_calls.*`: the bounded pool running driver code.
  struct DriverCalls {
    std::size_t threads{};                ///< worker threads (>= 1)
    std::size_t queue_size{};             ///< calls waiting for a worker at most
    std::chrono::milliseconds timeout{};  ///< deadline of one driver call
    /// Drivers with threads of their own: driver name -> threads, as
    /// checked text (`dedicated_thread_counts` reads them).
    StringMap dedicated_threads;
  } driver_calls;

  /// One Kafka topic (`messaging.topics.<name>.*` and the like).
  struct KafkaTopic {
    std::string name;                  ///< Kafka topic name
    bool auto_create{};                ///< create it at first use if missing
    std::size_t num_partitions{};      ///< partitions when created
    std::size_t replication_factor{};  ///< replicas when created
    StringMap config;                  ///< topic settings when created (`retention.ms`...)
  };

  /// `resource_driver.*` (Ignition's section).
  struct ResourceDriver {
    std::string driver;  ///< driver of requests no route claims; empty = refuse them
    /// `resource_driver.routes.*`: which driver serves a deployment location.
    struct Routes {
      StringMap location_type;  ///< location type -> driver name
      bool vendor_model{};      ///< by the location's vendor/model properties
    } routes;
    std::filesystem::path scripts_workspace;  ///< root where driver packages are extracted
    bool async_messaging_enabled{};           ///< Ignition key, accepted for compatibility
    /// `resource_driver.lifecycle_request_queue.*`: execute requests through Kafka.
    struct LifecycleRequestQueue {
      bool enabled{};                 ///< on: needs messaging and a cluster key
      std::string group_id;           ///< consumer group of the workers
      std::size_t max_concurrency{};  ///< requests one node runs at once
      std::size_t retries{};          ///< attempts after a temporary failure
      KafkaTopic topic;               ///< the requests
      KafkaTopic failed_topic;        ///< dead letters
    } lifecycle_request_queue;
  } resource_driver;

  /// `infrastructure_driver.*`: which infrastructure (VIM) driver serves a request.
  struct InfrastructureDriver {
    std::string driver;  ///< driver of requests no route claims; empty = refuse them
    /// `infrastructure_driver.routes.*`
    struct Routes {
      StringMap location_type;  ///< location type -> driver name
      bool vendor_model{};      ///< by the location's vendor/model properties
    } routes;
  } infrastructure_driver;

  /// `driver_files.*`: limits on driver packages and their cache.
  struct DriverFiles {
    std::size_t max_entries{};            ///< entries in one archive
    std::uint64_t max_total_size{};       ///< uncompressed bytes of one archive
    std::uint64_t max_entry_size{};       ///< uncompressed bytes of one entry
    std::size_t max_compression_ratio{};  ///< uncompressed / compressed, per entry and archive
    std::size_t max_path_length{};        ///< bytes of an entry's path
    std::uint64_t cache_size{};           ///< bytes of extracted packages kept
  } driver_files;

  /// `drivers.*`: driver libraries, instances, breakers, built-in drivers.
  struct Drivers {
    std::vector<std::string> dirs;  ///< folders of driver libraries (`*.so`)
    std::string on_load_error;      ///< `fail` or `skip`
    StringMap settings;             ///< `<driver>.<setting>` -> value
    /// `drivers.instances.*`: per-target driver instances.
    struct Instances {
      std::chrono::milliseconds expire_after_access{};  ///< idle time before closing; 0 = never
      std::size_t max{};                                ///< instances kept at most
    } instances;
    /// `drivers.breaker.*`: circuit breaker per target.
    struct Breaker {
      std::size_t failure_threshold{};            ///< consecutive failures that open it; 0 = off
      std::chrono::milliseconds open_duration{};  ///< open time before a probe
    } breaker;
    /// `drivers.netns.*`: the network-namespace VIM driver.
    struct Netns {
      std::filesystem::path state_dir;              ///< empty = <store.data_dir>/netns
      std::size_t max_computes{};                   ///< namespaces held at most
      std::string prefix;                           ///< first letters of every created name
      std::chrono::milliseconds command_timeout{};  ///< per iproute2 command
    } netns;
    /// `drivers.noop.*`: the do-nothing driver, for tests and benchmarks.
    struct Noop {
      std::string outcome;                  ///< `COMPLETE` or `FAILED`
      std::string failure_code;             ///< failure code when `outcome` is FAILED
      std::size_t polls_in_progress{};      ///< status polls answered IN_PROGRESS first
      std::chrono::milliseconds latency{};  ///< added to every call
      bool find_found{};                    ///< whether find returns a reference
      std::filesystem::path state_dir;      ///< empty = in memory, this process only
    } noop;
    struct Script {
      std::filesystem::path executions_dir;         ///< empty = <store.data_dir>/script-executions
      std::size_t max_concurrent{};                 ///< scripts running at once
      std::chrono::milliseconds default_timeout{};  ///< per lifecycle unless the manifest says
      bool keep_work_dirs{};                        ///< keep working directories after delivery
    } script;
  } drivers;

  /// `bootstrap.*`: which APIs the host serves.
  struct Bootstrap {
    /// `bootstrap.resource_driver.*`
    struct ResourceDriverApi {
      bool api_enabled{};  ///< serve /api/driver
    } resource_driver;
    /// `bootstrap.infrastructure.*`
    struct InfrastructureApi {
      bool api_enabled{};  ///< serve /api/infrastructure
    } infrastructure;
    /// `bootstrap.management.*`
    struct Management {
      bool api_enabled{};  ///< serve /management/health
    } management;
    /// `bootstrap.metrics.*`
    struct Metrics {
      bool enabled{};  ///< serve Prometheus metrics
    } metrics;
    /// `bootstrap.openapi.*`
    struct OpenApi {
      bool enabled{};  ///< serve openapi.json and the Swagger UI
    } openapi;
    struct Events {
      bool api_enabled{};  ///< serve /api/events (long poll and SSE)
    } events;
  } bootstrap;

  /// `api.*`
  struct Store {
    std::filesystem::path data_dir;                   ///< SQLite databases and the credentials key
    std::string synchronous;                          ///< `full` or `normal`
    std::filesystem::path key_file;                   ///< empty = <data_dir>/credentials.key
    bool accept_new_key = false;                      ///< fail work another key sealed
    std::chrono::milliseconds execution_retention{};  ///< ended records kept; 0 = forever
  } store;

  struct Monitoring {
    std::chrono::milliseconds min_interval{};   ///< first and shortest poll interval
    std::chrono::milliseconds max_interval{};   ///< longest poll interval
    std::chrono::milliseconds total_timeout{};  ///< FAILED when not terminal by then
    std::uint64_t max_outcome_size{};           ///< larger outcomes end FAILED without them
    std::size_t max_running{};                  ///< status polls in flight at once
  } monitoring;

  /// `messaging.*`: Kafka (Ignition's section). Off while
  /// `connection_address` is empty.
  struct Messaging {
    std::string connection_address;  ///< bootstrap servers, `host:port,...`
    StringMap config;                ///< librdkafka settings passed through (TLS, SASL)
    std::chrono::milliseconds delivery_timeout{};  ///< a produce not acknowledged by then fails
    using Topic = KafkaTopic;
    struct Topics {
      Topic lifecycle_execution_events;  ///< lifecycle execution events
      Topic infrastructure_task_events;  ///< infrastructure task events
      Topic execution_state;             ///< cluster mode: shared execution records and jobs
      Topic job_queue;  ///< Ignition's job queue topic: accepted for compatibility, unused
    } topics;
  } messaging;

  /// `job_queue.*` (Ignition's section): the consumer group of cluster mode.
  struct JobQueue {
    std::string consumer_group_id;  ///< the nodes sharing the monitoring
  } job_queue;

  /// `cluster.*`: several nodes sharing the monitoring through Kafka.
  struct Cluster {
    bool enabled{};                               ///< on: needs messaging and a key
    std::string node_id;                          ///< empty = the host name
    std::filesystem::path key_file;               ///< or FLINT_CLUSTER_KEY (hex)
    std::chrono::milliseconds session_timeout{};  ///< a silent node leaves after this
    std::chrono::milliseconds commit_interval{};  ///< offsets of owned partitions
  } cluster;

  struct Events {
    /// `events.log.*`: the embedded event log sink (and `/api/events`).
    struct Log {
      bool enabled{};  ///< deliver events to the embedded log
    } log;
    struct Retention {
      std::chrono::milliseconds max_age{};  ///< events older are pruned
      std::size_t max_count{};              ///< at most this many kept
    } retention;
  } events;

  struct Api {
    std::filesystem::path swagger_ui_dir;  ///< empty = where the build or install put it
  } api;

  /// `logging.*` (also `LOG_LEVEL`, `LOG_TYPE`).
  struct Logging {
    std::string level;  ///< trace, debug, info, warn, error, critical or off
    std::string type;   ///< `flat` or `logstash`
  } logging;

  /// The configuration file that was read, if any.
  std::optional<std::filesystem::path> config_file;
};

/// `driver_calls.dedicated_threads` as numbers: driver name -> threads.
std::map<std::string, std::size_t, std::less<>> dedicated_thread_counts(const HostConfig& config);

/// The host's schema: every key, its type, default, variable and description.
/// Built once (thread-safe lazy initialisation) and immutable.
const ConfigSchema& host_config_schema();

/// Loads the host's options: defaults, then `file` (`--config`; when absent,
/// the file named by `FLINT_CONFIG` in `env`), then `FLINT_*` variables and
/// the aliases `LOG_LEVEL` and `LOG_TYPE` from `env`. Thread-safe.
/// @throws ConfigError listing every problem, one per line; only
/// `--config: empty path` when `file` is given but empty.
HostConfig load_host_config(const std::optional<std::filesystem::path>& file,
                            const Environment& env);

/// The effective configuration of the same inputs as YAML, with the source of
/// each value in a trailing comment and secrets as `"****"`.
/// @throws ConfigError as `load_host_config`.
std::string effective_yaml(const std::optional<std::filesystem::path>& file,
                           const Environment& env);

}  // namespace flint::config
