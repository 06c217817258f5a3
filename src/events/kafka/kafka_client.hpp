#pragma once

/// @file
/// What every Kafka client of Flint shares: how it is configured from
/// `messaging.*`, and where librdkafka's own logs go.

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct rd_kafka_conf_s;
struct rd_kafka_s;
struct rd_kafka_topic_partition_list_s;

namespace flint::events {

/// A Kafka setting the client refused, or a client that could not be built.
/// The message names the setting (`messaging.config.<key>`).
class KafkaConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Where a client connects and the settings passed through (`messaging.*`).
struct KafkaClientOptions {
  /// Bootstrap servers, `host:port,...` (`messaging.connection_address`).
  std::string bootstrap_servers;
  /// librdkafka settings passed through (`messaging.config`: TLS, SASL...),
  /// applied after Flint's own, so they may override them.
  std::map<std::string, std::string> client_config;
};

/// A Kafka topic and how to create it (`messaging.topics.<name>.*`).
struct KafkaTopic {
  std::string name;                           ///< Kafka topic name
  bool auto_create = false;                   ///< create at first use if missing
  int num_partitions = 1;                     ///< when created
  int replication_factor = 1;                 ///< when created
  std::map<std::string, std::string> config;  ///< topic settings when created
  bool keyed = false;                         ///< records carry the event key (Flint's own topics)
};

/// Creates `topic` through `client` unless it exists; waits up to `timeout`
/// (in short steps, giving up early once `*interrupted`).
/// @throws std::runtime_error naming the topic and the cause.
void create_topic(rd_kafka_s* client, const KafkaTopic& topic, std::chrono::milliseconds timeout,
                  const std::atomic<bool>* interrupted = nullptr);

/// A new librdkafka configuration: the bootstrap servers, `flint_settings`
/// (Flint's choices for this client), then the pass-through settings, with
/// the log callback set. The caller owns it (rd_kafka_new takes it).
/// @throws KafkaConfigError naming the setting the client refused.
rd_kafka_conf_s* new_kafka_conf(
    const KafkaClientOptions& options,
    const std::vector<std::pair<std::string, std::string>>& flint_settings);

/// Flint's producer settings: idempotent (retries neither duplicate nor
/// reorder within a partition), `acks=all`, records failed after
/// `delivery_timeout`, no lingering (callers wait for their records), quick
/// reconnection after an outage.
std::vector<std::pair<std::string, std::string>> producer_settings(
    std::string client_id, std::chrono::milliseconds delivery_timeout);

/// Flint's settings for a member of consumer group `group_id`: offsets are
/// committed by Flint only (never automatically), a new group reads from
/// the earliest record, a member silent for `session_timeout` leaves.
std::vector<std::pair<std::string, std::string>> group_consumer_settings(
    std::string client_id, std::string group_id, std::chrono::milliseconds session_timeout);

/// How long a group member waits for its commit when its partitions are
/// revoked (a rebalance, or the stop, where two members commit in turn
/// within `http.shutdown_timeout`).
inline constexpr std::chrono::milliseconds kRevokeCommitLimit{2'000};

/// Commits `offsets` for group member `consumer` and waits for the result
/// `limit` at most: `rd_kafka_commit`'s synchronous form has no bound, and
/// with the coordinator away it held a rebalance, or the stop, for tens of
/// seconds. Past `limit` the commit goes on alone. An offset not committed
/// only makes the next owner read again what it skips (recorded requests,
/// known states).
/// @returns librdkafka's error code (`rd_kafka_resp_err_t`): 0 when
///          committed, `RD_KAFKA_RESP_ERR__TIMED_OUT` past `limit`.
int commit_within(rd_kafka_s* consumer, const rd_kafka_topic_partition_list_s* offsets,
                  std::chrono::milliseconds limit);

/// The bytes of a record's key or value (librdkafka gives null for none).
inline std::string_view record_bytes(const void* data, std::size_t size) noexcept {
  return data ? std::string_view(static_cast<const char*>(data), size) : std::string_view();
}

/// Whether a client can reach Kafka at all, for health: librdkafka reports
/// a broker outage only through its error callback (a consumer's reads just
/// return nothing), and only once its first connections failed. Set by
/// `on_error` when no broker can be reached; cleared once Kafka answers a
/// metadata request again (`probe`). Until Kafka first answered, health says
/// so (`health_error`), not OK. Thread-safe.
class KafkaOutage {
 public:
  /// From librdkafka's error callback: records an outage (all brokers down,
  /// authentication refused; logged when it starts), logs the others (at
  /// debug level when librdkafka's log has them already).
  void on_error(rd_kafka_s* client, int err, const char* reason);
  /// From the client's poll loop: until Kafka first answered and while an
  /// outage stands, asks Kafka for metadata (at most once every 2 s, waiting
  /// 1 s at most) and clears the outage when it answers.
  void probe(rd_kafka_s* client);
  /// The outage, or empty.
  std::string get() const;
  /// What health reports: the outage, else that Kafka has not answered yet
  /// (just after start), else empty.
  std::string health_error() const;
  /// Ends the outage (logged): Kafka answered its client.
  void clear();

 private:
  mutable std::mutex mutex_;
  std::string error_;
  bool reached_ = false;  // Kafka answered this client at least once
  std::string client_;    // the client the outage was seen by
  std::chrono::steady_clock::time_point next_probe_{};
};

/// Leaves the consumer group (`rd_kafka_consumer_close`: the rebalance
/// callback revokes and commits), unless `outage` says Kafka cannot be
/// reached: librdkafka's close then waits for every commit still queued,
/// each retried while no coordinator answers, and held a stop for tens of
/// seconds; the group drops the member at its session timeout instead.
/// @returns whether it closed; pass that to `destroy_consumer`.
bool close_consumer(rd_kafka_s* consumer, const KafkaOutage& outage, std::string_view role);

/// How long `destroy_consumer` waits for librdkafka to wind a consumer down.
inline constexpr std::chrono::milliseconds kConsumerDestroyLimit{2'000};

/// Destroys `consumer`, without the close librdkafka would run again when
/// `close_consumer` skipped it, waiting at most `kConsumerDestroyLimit`.
/// An offset commit sent just before an outage was seen waits in librdkafka
/// for a group coordinator, and holds the destroy for up to the group's
/// session timeout: past the limit, the destroy goes on on a thread of its
/// own, `role` names the client in a warning, and
/// `kafka_clients_left_running` counts it. Thread-safe.
void destroy_consumer(rd_kafka_s* consumer, bool closed, std::string_view role);

/// How many clients `destroy_consumer` left winding down. Their threads may
/// still call the log callback and OpenSSL: a process with any should end
/// with `std::_Exit`, without the static destructors they rely on.
int kafka_clients_left_running();

/// A producer (`consumer` false) or consumer made from `conf` (taken over).
/// @throws KafkaConfigError naming `role` and librdkafka's reason.
rd_kafka_s* new_kafka_client(rd_kafka_conf_s* conf, bool consumer, std::string_view role);

}  // namespace flint::events
