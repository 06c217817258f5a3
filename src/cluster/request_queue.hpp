#pragma once

/// @file
/// The request queue (Ignition's `lifecycle_request_queue`): execute requests
/// acknowledged once Kafka has them, and executed by workers on any node with
/// bounded concurrency.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/value.hpp>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <flint/sdk/lifecycle.hpp>

#include "drivers/driver_executor.hpp"
#include "events/kafka/kafka_client.hpp"
#include "events/kafka/kafka_producer.hpp"
#include "health/health_registry.hpp"
#include "security/credential_vault.hpp"
#include "service/lifecycle_monitor.hpp"
#include "service/resource_driver_service.hpp"

struct rd_kafka_s;
struct rd_kafka_message_s;
struct rd_kafka_topic_partition_list_s;

namespace flint::cluster {

/// Puts validated execute requests on a Kafka topic (keyed by a request id
/// Flint assigns, and answers with at once) and runs them from there.
///
/// Records are sealed with the cluster key (the request id as associated
/// data): they carry deployment locations. Every node with the queue on is
/// a worker in one consumer group; a worker runs at most `max_concurrency`
/// requests at once (it stops reading while full), each through the same
/// path as a direct request: route, breaker, driver, durable acceptance
/// under the promised id. Then:
/// - a temporary failure (breaker open, saturation, deadline) is retried
///   `retries` times with a doubling delay, then reported;
/// - any other failure is reported: the execution is recorded FAILED with
///   INTERNAL_ERROR and the reason, and its event is sent;
/// - a record that cannot be opened or parsed, or lacks fields, goes to the
///   dead-letter topic with its reason (header `reason`; kept and tried
///   again, with back-off, until that topic has it), and when its key
///   is a usable request id not known yet, that execution is reported FAILED
///   too; a key that is not (binary, too long) is a reason itself.
///
/// Offsets are committed up to the oldest request still running in each
/// partition, so a worker that dies mid-request leaves it to the next one:
/// delivery is at least once, and a request already recorded, or running on
/// this worker (a duplicated record), is skipped.
/// Lifecycle: construct, `start`, `stop` (or destroy) before the service,
/// the monitor and the io_context's threads go.
class RequestQueue {
 public:
  /// Settings (`resource_driver.lifecycle_request_queue.*`).
  struct Options {
    events::KafkaClientOptions client;
    /// Kafka topic of the requests, and of the dead letters (created at
    /// start when `auto_create`).
    events::KafkaTopic topic;
    events::KafkaTopic failed_topic;
    /// The consumer group of the workers.
    std::string group_id;
    /// This node's name (client id, logs).
    std::string node_id;
    /// Requests a worker runs at once.
    std::size_t max_concurrency = 16;
    /// Attempts after a temporary failure, and the first delay between them.
    std::uint32_t retries = 3;
    std::chrono::milliseconds retry_delay{1'000};
    /// A produce not acknowledged by then fails.
    std::chrono::milliseconds delivery_timeout{30'000};
    /// A silent worker leaves the group after this.
    std::chrono::milliseconds session_timeout{10'000};
    /// How often offsets are committed.
    std::chrono::milliseconds commit_interval{1'000};
  };

  /// Decodes the execute body a record carries (the API's decoder).
  /// @throws sdk::InvalidRequestError naming the field.
  using Decode = std::function<service::ExecuteCommand(const boost::json::value&)>;

  /// A record opened and decoded: the request, and who asked.
  struct Record {
    std::string request_id;
    service::ExecuteCommand command;
    service::CallOrigin origin;
  };

  /// The value of the record that queues `request` (an execute body) under
  /// `request_id` (its key): the record's JSON, sealed under `key` with the
  /// id bound, in base64.
  static std::string encode_record(const security::CredentialVault& key,
                                   const std::string& request_id, const service::CallOrigin& origin,
                                   boost::json::value request);

  /// Opens and decodes one record as the worker does, from its key and value
  /// (the worker reads no headers): the key must be a usable request id, and
  /// the value the base64 of a record sealed under `key` with that id bound,
  /// whose JSON names the same id, a tenant, log fields and a body `decode`
  /// takes.
  /// @throws std::runtime_error saying why not: the reason the record goes
  ///         to the dead-letter topic with.
  static Record decode_record(std::string_view record_key, std::string_view value,
                              const security::CredentialVault& key, const Decode& decode);

  /// @throws events::KafkaConfigError naming a setting the client refused.
  RequestQueue(Options options, security::CredentialVault key, Decode decode,
               service::ResourceDriverService& service, service::LifecycleMonitor& monitor,
               drivers::DriverExecutor& executor, boost::asio::io_context& io,
               prometheus::Registry& registry);
  ~RequestQueue();
  RequestQueue(const RequestQueue&) = delete;
  RequestQueue& operator=(const RequestQueue&) = delete;

  /// Queues `request` (an execute body that decodes) and returns the id it
  /// will be known by, once Kafka has it.
  /// @throws sdk::TemporaryDriverError when Kafka does not take it now
  ///         (503), sdk::InvalidRequestError when its record is larger than
  ///         the client or the topic takes (400, naming the limit).
  boost::asio::awaitable<sdk::LifecycleExecuteResponse> enqueue(boost::json::value request,
                                                                service::CallOrigin origin);

  /// Starts the worker.
  void start();
  /// Stops reading new requests (at a signal: those running go on).
  void begin_stop() noexcept;
  /// Stops reading, waits (bounded) for the requests running, commits,
  /// leaves the group. Idempotent.
  void stop();

  /// How many queued requests run on this worker now. Thread-safe.
  std::size_t running() const;

  /// Health details; false while an error stands.
  bool describe(health::HealthDetails& details) const;

 private:
  struct Decoded;
  void run();
  // Why a record of `size` bytes Kafka refused as too large cannot be queued.
  std::string too_large(std::size_t size) const;
  void handle(rd_kafka_message_s& message);
  // A record for the dead-letter topic, kept (its offset not committed past)
  // until the topic has it.
  struct Letter {
    std::string key;
    std::string value;
    std::string reason;
    std::int32_t partition = 0;
    std::int64_t offset = 0;
    std::chrono::steady_clock::time_point due{};
    std::chrono::milliseconds backoff{1'000};
    bool sent = false;  // on the topic already: only its report is due
  };
  void dead_letter(const rd_kafka_message_s& message, const std::string& reason);
  // Produces `letter` (once), then reports its request FAILED when it has a
  // usable id; false (the error kept for health) when either failed.
  bool send(Letter& letter);
  // On the consumer thread: tries the letters due again, oldest first.
  void retry_letters();
  void clear_letter_error();
  boost::asio::awaitable<void> execute(std::shared_ptr<Decoded> request);
  // Retries the record of a request the driver accepted, backing off, until
  // it is written (true), or the queue stops or the request's partition is
  // revoked (false: it stays uncommitted, for the next owner).
  // `driver_request_id` names the driver's run in the log when given up.
  boost::asio::awaitable<bool> record_while_owned(
      const Decoded& request, const std::string& driver_request_id,
      const service::AcceptanceNotRecorded::RecordAgain& record_again);
  // Whether a retry of `request`'s record must stop: the node stops, or the
  // request's partition went to another worker, which runs the request again
  // (this worker's record could no longer stop it: both would be recorded).
  // When it must, the request stops counting as running here (its offset is
  // not committed past). Returns why, or null.
  const char* give_up_if_lost(const Decoded& request);
  // Why `request` may not be recorded by this worker any more (its partition
  // went to another worker, which runs it again), or null. Changes nothing.
  const char* lost(const Decoded& request) const;
  const char* lost_locked(const Decoded& request) const;  // caller holds `mutex_`
  // In a rebalance, on the consumer thread: waits (bounded) until no
  // request from the `revoked` partitions runs here.
  void drain(const rd_kafka_topic_partition_list_s& revoked);
  void finished(const Decoded& request);
  void commit(bool async);
  struct Hooks;  // librdkafka's callbacks

  Options options_;
  security::CredentialVault key_;
  Decode decode_;
  service::ResourceDriverService& service_;
  service::LifecycleMonitor& monitor_;
  drivers::DriverExecutor& executor_;
  boost::asio::io_context& io_;
  events::KafkaProducer producer_;
  rd_kafka_s* consumer_ = nullptr;
  prometheus::Family<prometheus::Counter>& outcomes_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  // Per partition: offsets of requests running, and the next offset to read.
  struct Partition {
    std::set<std::int64_t> running;
    std::int64_t next_offset = -1;
    std::uint64_t epoch = 0;  // which assignment of it (`assignments_`)
  };
  std::map<std::int32_t, Partition> partitions_;
  std::uint64_t assignments_ = 0;  // partitions assigned so far
  // Requests running on this worker, by id: a second record of one is
  // skipped (or, read again after its partition came back, taken over).
  std::unordered_map<std::string, std::shared_ptr<Decoded>> in_flight_;
  std::size_t running_ = 0;
  std::string last_error_;
  // Why a dead letter waits, until it and those after it reach the topic.
  std::string letter_error_;
  std::deque<Letter> letters_;  // the consumer thread's only
  events::KafkaOutage outage_;  // no broker reachable (no read says so)
  bool catch_up_due_ = false;   // the consumer thread's: partitions were assigned
  bool closed_ = false;         // left the group (see events::close_consumer)
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace flint::cluster
