#include "events/kafka/kafka_producer.hpp"

#include <cstdlib>
#include <future>
#include <stdexcept>

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include "logging/thread_name.hpp"

namespace flint::events {
namespace {

// Each record carries the promise its producer waits on.
void on_delivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* message, void* /*opaque*/) {
  auto* promise = static_cast<std::promise<KafkaProducer::Delivery>*>(message->_private);
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    promise->set_value({message->partition, message->offset});
  } else {
    promise->set_exception(std::make_exception_ptr(KafkaProduceError(
        message->err, fmt::format("topic {}: {}", rd_kafka_topic_name(message->rkt),
                                  rd_kafka_err2str(message->err)))));
  }
}

}  // namespace

bool KafkaProduceError::too_large() const noexcept {
  return code_ == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE;
}

KafkaProducer::KafkaProducer(const KafkaClientOptions& options,
                             std::chrono::milliseconds delivery_timeout)
    : delivery_timeout_(delivery_timeout) {
  rd_kafka_conf_t* conf = new_kafka_conf(options, producer_settings("flint", delivery_timeout));
  rd_kafka_conf_set_dr_msg_cb(conf, &on_delivery);
  producer_ = new_kafka_client(conf, /*consumer=*/false, "producer");
  poller_ = logging::start_thread("the Kafka producer's poll thread", [this] {
    while (!stopping_.load()) rd_kafka_poll(producer_, 100);
  });
}

KafkaProducer::~KafkaProducer() {
  // Every record in flight has a caller waiting: let them have their answer
  // (the flush serves delivery reports), failed if the broker is away.
  rd_kafka_flush(producer_, 5'000);
  rd_kafka_purge(producer_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  stopping_.store(true);
  poller_.join();
  rd_kafka_poll(producer_, 0);
  rd_kafka_destroy(producer_);
}

std::size_t KafkaProducer::max_message_bytes() const {
  char value[32] = {};
  std::size_t size = sizeof value;
  if (rd_kafka_conf_get(rd_kafka_conf(producer_), "message.max.bytes", value, &size) !=
      RD_KAFKA_CONF_OK) {
    return 0;
  }
  return std::strtoull(value, nullptr, 10);
}

void KafkaProducer::create_topic(const KafkaTopic& topic) {
  if (topic.auto_create) events::create_topic(producer_, topic, delivery_timeout_);
}

KafkaProducer::Delivery KafkaProducer::produce(
    const std::string& topic, std::string_view key, std::string_view value,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  std::promise<Delivery> promise;
  auto delivered = promise.get_future();
  rd_kafka_headers_t* record_headers = rd_kafka_headers_new(headers.size());
  for (const auto& [name, text] : headers) {
    rd_kafka_header_add(record_headers, name.c_str(), -1, text.data(),
                        static_cast<ssize_t>(text.size()));
  }
  const rd_kafka_resp_err_t err = rd_kafka_producev(
      producer_, RD_KAFKA_V_TOPIC(topic.c_str()),
      RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
      RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
      RD_KAFKA_V_HEADERS(record_headers), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_OPAQUE(&promise), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_headers_destroy(record_headers);  // owned by the record only once produced
    throw KafkaProduceError(err, fmt::format("topic {}: {}", topic, rd_kafka_err2str(err)));
  }
  // Bounded by message.timeout.ms: librdkafka reports every record by then.
  return delivered.get();
}

}  // namespace flint::events
