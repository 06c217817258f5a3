#pragma once

/// @file
/// A Kafka producer for callers that must know a record is in Kafka before
/// they answer (a cluster node acknowledging an execution).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "events/kafka/kafka_client.hpp"

struct rd_kafka_s;

namespace flint::events {

/// A record Kafka refused or did not acknowledge, with librdkafka's code.
class KafkaProduceError : public std::runtime_error {
 public:
  KafkaProduceError(int code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  /// The `rd_kafka_resp_err_t`.
  int code() const noexcept { return code_; }
  /// The record is larger than the client (`message.max.bytes`) or the
  /// broker (the topic's `max.message.bytes`) takes: retrying cannot help.
  bool too_large() const noexcept;

 private:
  int code_;
};

/// Produces records one call at a time and blocks each caller until its
/// record is acknowledged by every in-sync replica (`acks=all`, idempotent:
/// retries neither duplicate nor reorder within a partition).
///
/// Thread-safe: many threads may `produce` at once; their records share the
/// client's batches. A background thread serves delivery reports.
class KafkaProducer {
 public:
  /// Where a record landed.
  struct Delivery {
    std::int32_t partition = 0;
    std::int64_t offset = 0;
  };

  /// Builds the producer (no connection is made yet).
  /// @throws KafkaConfigError naming the setting the client refused.
  KafkaProducer(const KafkaClientOptions& options, std::chrono::milliseconds delivery_timeout);
  /// Waits up to `delivery_timeout` for records in flight, then stops.
  ~KafkaProducer();
  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;

  /// Creates `topic` when it is set to `auto_create` and missing.
  /// @throws std::runtime_error naming the topic and the cause.
  void create_topic(const KafkaTopic& topic);

  /// The largest record this client sends (`message.max.bytes`), in bytes.
  std::size_t max_message_bytes() const;

  /// Produces `value` under `key` to `topic` and waits for the acknowledgement.
  /// @throws KafkaProduceError naming the topic and the cause when the record
  ///         is refused or not acknowledged within the delivery timeout.
  Delivery produce(const std::string& topic, std::string_view key, std::string_view value,
                   const std::vector<std::pair<std::string, std::string>>& headers = {});

 private:
  std::chrono::milliseconds delivery_timeout_;
  rd_kafka_s* producer_ = nullptr;
  std::atomic<bool> stopping_{false};
  std::thread poller_;
};

}  // namespace flint::events
