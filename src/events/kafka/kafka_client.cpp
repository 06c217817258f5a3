#include "events/kafka/kafka_client.hpp"

#include <algorithm>
#include <future>
#include <memory>
#include <system_error>
#include <thread>

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include "logging/logging.hpp"

namespace flint::events {
namespace {

// librdkafka's syslog levels to ours; its messages never carry setting values.
// Its errors are mostly a broker being away, which health reports and the
// outbox rides out: a warning, not an error of Flint's.
void on_log(const rd_kafka_t* /*rk*/, int level, const char* facility, const char* message) {
  // Never destroyed: a client `destroy_consumer` left running may log while
  // the process exits.
  static const auto& log = *new std::shared_ptr<spdlog::logger>(logging::logger("kafka"));
  const auto spd = level <= 4   ? spdlog::level::warn
                   : level <= 6 ? spdlog::level::info
                                : spdlog::level::debug;
  log->log(spd, "librdkafka {}: {}", facility, message);
}

}  // namespace

void KafkaOutage::on_error(rd_kafka_t* client, int err, const char* reason) {
  static const auto log = logging::logger("kafka");
  const auto code = static_cast<rd_kafka_resp_err_t>(err);
  // One broker away, a timeout: librdkafka retries, and reads or
  // acknowledgements say whether it matters.
  if (code != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && code != RD_KAFKA_RESP_ERR__AUTHENTICATION) {
    // A connection that failed is in librdkafka's own log line already.
    const bool logged = code == RD_KAFKA_RESP_ERR__TRANSPORT || code == RD_KAFKA_RESP_ERR__RESOLVE;
    log->log(logged ? spdlog::level::debug : spdlog::level::warn, "librdkafka {}: {}",
             rd_kafka_name(client), reason);
    return;
  }
  std::lock_guard lock(mutex_);
  if (error_.empty())
    log->warn("librdkafka {}: Kafka cannot be reached: {}", rd_kafka_name(client), reason);
  client_ = rd_kafka_name(client);
  error_ = fmt::format("Kafka cannot be reached: {}", reason);
  next_probe_ = std::chrono::steady_clock::now() + std::chrono::seconds(2);
}

void KafkaOutage::probe(rd_kafka_t* client) {
  {
    std::lock_guard lock(mutex_);
    if ((reached_ && error_.empty()) || std::chrono::steady_clock::now() < next_probe_) return;
    next_probe_ = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  }
  const rd_kafka_metadata_t* metadata = nullptr;
  // Brokers only (no topic): an answer means a broker is reachable again.
  if (rd_kafka_metadata(client, 0, nullptr, &metadata, 1'000) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  rd_kafka_metadata_destroy(metadata);
  clear();
}

std::string KafkaOutage::get() const {
  std::lock_guard lock(mutex_);
  return error_;
}

std::string KafkaOutage::health_error() const {
  std::lock_guard lock(mutex_);
  if (!error_.empty() || reached_) return error_;
  return "Kafka has not answered yet (just started)";
}

void KafkaOutage::clear() {
  std::lock_guard lock(mutex_);
  reached_ = true;
  if (error_.empty()) return;
  static const auto log = logging::logger("kafka");
  log->info("librdkafka {}: Kafka can be reached again", client_);
  error_.clear();
}

rd_kafka_conf_t* new_kafka_conf(
    const KafkaClientOptions& options,
    const std::vector<std::pair<std::string, std::string>>& flint_settings) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  const auto set = [&](const std::string& key, const std::string& value, std::string_view origin) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), error, sizeof error) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw KafkaConfigError(fmt::format("{}: {}", origin, error));
    }
  };
  set("bootstrap.servers", options.bootstrap_servers, "messaging.connection_address");
  for (const auto& [key, value] : flint_settings) set(key, value, key);
  for (const auto& [key, value] : options.client_config) {
    set(key, value, "messaging.config." + key);
  }
  rd_kafka_conf_set_log_cb(conf, &on_log);
  return conf;
}

std::vector<std::pair<std::string, std::string>> producer_settings(
    std::string client_id, std::chrono::milliseconds delivery_timeout) {
  return {{"client.id", std::move(client_id)},
          {"enable.idempotence", "true"},
          {"acks", "all"},
          {"message.timeout.ms", std::to_string(delivery_timeout.count())},
          // Callers hand over whole batches, or single records, and wait:
          // lingering for more (5 ms by default) only adds its delay.
          {"linger.ms", "0"},
          // librdkafka backs off reconnecting up to 10 s; a broker back from
          // an outage should be used within a second.
          {"reconnect.backoff.max.ms", "1000"}};
}

std::vector<std::pair<std::string, std::string>> group_consumer_settings(
    std::string client_id, std::string group_id, std::chrono::milliseconds session_timeout) {
  return {{"client.id", std::move(client_id)},
          {"group.id", std::move(group_id)},
          {"enable.auto.commit", "false"},
          {"enable.auto.offset.store", "false"},
          {"auto.offset.reset", "earliest"},
          {"session.timeout.ms", std::to_string(session_timeout.count())},
          {"heartbeat.interval.ms",
           std::to_string(std::max<std::int64_t>(session_timeout.count() / 5, 100))},
          {"reconnect.backoff.max.ms", "1000"}};
}

rd_kafka_t* new_kafka_client(rd_kafka_conf_t* conf, bool consumer, std::string_view role) {
  char error[512];
  rd_kafka_t* client =
      rd_kafka_new(consumer ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (client == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw KafkaConfigError(
        fmt::format("messaging.config: the Kafka client ({}) refused: {}", role, error));
  }
  if (consumer) rd_kafka_poll_set_consumer(client);
  return client;
}

void create_topic(rd_kafka_t* client, const KafkaTopic& topic, std::chrono::milliseconds timeout,
                  const std::atomic<bool>* interrupted) {
  const auto stop = [&] { return interrupted && interrupted->load(); };
  char error[512];
  rd_kafka_NewTopic_t* request = rd_kafka_NewTopic_new(
      topic.name.c_str(), topic.num_partitions, topic.replication_factor, error, sizeof error);
  if (request == nullptr)
    throw std::runtime_error("cannot create topic " + topic.name + ": " + error);
  for (const auto& [key, value] : topic.config) {
    rd_kafka_NewTopic_set_config(request, key.c_str(), value.c_str());
  }
  rd_kafka_queue_t* queue = rd_kafka_queue_new(client);
  rd_kafka_AdminOptions_t* admin =
      rd_kafka_AdminOptions_new(client, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(admin, static_cast<int>(timeout.count()), error,
                                            sizeof error);
  rd_kafka_CreateTopics(client, &request, 1, admin, queue);
  // In short waits, so that an interruption cuts it short.
  rd_kafka_event_t* event = nullptr;
  const auto give_up = std::chrono::steady_clock::now() + timeout + std::chrono::seconds(1);
  while (event == nullptr && !stop() && std::chrono::steady_clock::now() < give_up) {
    event = rd_kafka_queue_poll(queue, 100);
  }
  std::string failure;
  if (event == nullptr) {
    failure = stop() ? "interrupted" : "no answer from the cluster";
  } else if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    failure = rd_kafka_event_error_string(event);
  } else {
    std::size_t count = 0;
    const auto* result = rd_kafka_event_CreateTopics_result(event);
    const rd_kafka_topic_result_t** topics = rd_kafka_CreateTopics_result_topics(result, &count);
    for (std::size_t i = 0; i < count; ++i) {
      const auto err = rd_kafka_topic_result_error(topics[i]);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        const char* text = rd_kafka_topic_result_error_string(topics[i]);
        failure = text ? text : rd_kafka_err2str(err);
      }
    }
  }
  if (event) rd_kafka_event_destroy(event);
  rd_kafka_AdminOptions_destroy(admin);
  rd_kafka_NewTopic_destroy(request);
  rd_kafka_queue_destroy(queue);
  if (!failure.empty()) {
    throw std::runtime_error("cannot create topic " + topic.name + " (auto_create): " + failure);
  }
  static const auto log = logging::logger("kafka");
  log->info("created topic {} ({} partitions, replication factor {})", topic.name,
            topic.num_partitions, topic.replication_factor);
}

int commit_within(rd_kafka_s* consumer, const rd_kafka_topic_partition_list_s* offsets,
                  std::chrono::milliseconds limit) {
  // The result comes as an event on a queue of its own (the event API).
  rd_kafka_queue_t* queue = rd_kafka_queue_new(consumer);
  rd_kafka_resp_err_t err = rd_kafka_commit_queue(consumer, offsets, queue, nullptr, nullptr);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_event_t* result = rd_kafka_queue_poll(queue, static_cast<int>(limit.count()));
    if (result == nullptr) {
      err = RD_KAFKA_RESP_ERR__TIMED_OUT;
    } else {
      err = rd_kafka_event_error(result);
      rd_kafka_event_destroy(result);
    }
  }
  rd_kafka_queue_destroy(queue);  // a late result finds no one: librdkafka counts references
  return err;
}

bool close_consumer(rd_kafka_s* consumer, const KafkaOutage& outage, std::string_view role) {
  if (const std::string error = outage.get(); !error.empty()) {
    logging::logger("kafka")->warn(
        "{}: leaving the consumer group without closing ({}): the group drops this member at its "
        "session timeout",
        role, error);
    return false;
  }
  rd_kafka_consumer_close(consumer);
  return true;
}

namespace {
std::atomic<int> clients_left_running{0};
}  // namespace

void destroy_consumer(rd_kafka_s* consumer, bool closed, std::string_view role) {
  const int flags = closed ? 0 : RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE;
  // Neither callback with an opaque pointer runs in the destroy: the error
  // callback is served by polls, the rebalance callback by a close. So the
  // client may outlive its owner.
  std::promise<void> destroyed;
  std::future<void> done = destroyed.get_future();
  std::thread destroyer;
  try {
    destroyer = std::thread([consumer, flags, destroyed = std::move(destroyed)]() mutable {
      rd_kafka_destroy_flags(consumer, flags);
      destroyed.set_value();
    });
  } catch (const std::system_error&) {  // no thread to spare: wait as long as it takes
    rd_kafka_destroy_flags(consumer, flags);
    return;
  }
  if (done.wait_for(kConsumerDestroyLimit) == std::future_status::ready) {
    destroyer.join();
    return;
  }
  destroyer.detach();
  clients_left_running.fetch_add(1);
  logging::logger("kafka")->warn(
      "{}: the Kafka consumer did not wind down within {} ms (likely an offset commit waiting "
      "for a group coordinator); the process ends without it",
      role, kConsumerDestroyLimit.count());
}

int kafka_clients_left_running() {
  return clients_left_running.load();
}

}  // namespace flint::events
