#pragma once

/// @file
/// Kafka as an event destination: the second `EventPublisher` adapter.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "events/event_publisher.hpp"
#include "events/kafka/kafka_client.hpp"

struct rd_kafka_s;

namespace flint::events {

/// Publishes outbox events to Kafka topics with librdkafka.
///
/// Each outbox topic maps to a Kafka topic (`messaging.topics.*`); events of
/// unmapped topics are skipped. Records carry the payload unchanged, no key
/// (as Ignition sends them), and the headers `tenantId` (when the request had
/// one) and `eventId` (for consumers that deduplicate). The producer is
/// idempotent with `acks=all`, so a retried produce is neither duplicated
/// nor reordered within a partition; a batch the relay offers again after a
/// failure may repeat events that did arrive: delivery is at least once.
///
/// `publish` returns once every record of the batch is acknowledged and
/// throws if any failed (broker down past `delivery_timeout`, topic missing,
/// record too large...): `TopicsNotDelivered` when brokers answer and only
/// some topics failed (a topic missing or refused holds back no other), a
/// plain error otherwise. Called from the relay thread only; `interrupt` and
/// `status` from any thread.
class KafkaEventPublisher final : public EventPublisher {
 public:
  /// A Kafka topic and how to create it.
  using Topic = KafkaTopic;

  /// Settings (`messaging.*`).
  struct Options {
    /// Bootstrap servers, `host:port,...`.
    std::string bootstrap_servers;
    /// librdkafka settings passed through; applied after Flint's own, so
    /// they may override them (`acks` excepted: idempotence needs `all`).
    std::map<std::string, std::string> client_config;
    /// Outbox topic (e.g. `lifecycle_execution_events`) -> Kafka topic.
    std::map<std::string, Topic, std::less<>> topics;
    /// A record not acknowledged by then fails (`message.timeout.ms`).
    std::chrono::milliseconds delivery_timeout{30'000};
  };

  /// What health reports.
  struct Status {
    bool healthy = true;     ///< false from a failed publish (or an outage) until one succeeds
    std::string last_error;  ///< why (empty when healthy)
  };

  /// Builds the producer (no connection is made yet).
  /// @throws KafkaConfigError naming the setting the client refused.
  explicit KafkaEventPublisher(Options options);
  ~KafkaEventPublisher() override;
  KafkaEventPublisher(const KafkaEventPublisher&) = delete;
  KafkaEventPublisher& operator=(const KafkaEventPublisher&) = delete;

  /// Produces `batch` and waits for every acknowledgement. Once a record of
  /// a topic fails, the topic's later events in the batch are not produced
  /// (they keep their order). Events Kafka acknowledged in a failed try are
  /// not produced again when offered again.
  /// @throws TopicsNotDelivered naming the failed topics, when brokers answer.
  /// @throws std::runtime_error naming the first failure, when none answers
  ///         or the relay is stopping.
  void publish(std::span<const OutboxEvent> batch) override;
  /// Serves librdkafka's callbacks, so that an outage shows in `status`
  /// while no event is sent, and checks whether one has ended.
  void idle() override;
  /// Purges what is in flight: the waiting `publish` throws soon.
  void interrupt() noexcept override;
  /// `kafka`.
  std::string_view name() const noexcept override { return "kafka"; }

  /// Health as of the last publish, or of the last `idle` call when no
  /// broker could be reached since.
  Status status() const;

 private:
  void ensure_topic(const Topic& topic);            // when auto_create, once per topic
  bool brokers_answer();                            // a metadata request, up to 1 s
  void record_failure(const std::string& message);  // for status()
  void fail(std::string message);                   // record_failure, then throw

  Options options_;
  rd_kafka_s* producer_ = nullptr;
  std::set<std::string> created_topics_;  // relay thread only
  // Events of a failed try that Kafka acknowledged already, until a publish
  // that includes them succeeds. Relay thread only.
  std::set<std::string, std::less<>> acknowledged_ids_;
  std::atomic<bool> interrupted_{false};
  KafkaOutage outage_;  // no broker reachable, even with nothing to send
  mutable std::mutex status_mutex_;
  Status status_;
};

}  // namespace flint::events
