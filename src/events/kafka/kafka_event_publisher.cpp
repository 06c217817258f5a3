#include "events/kafka/kafka_event_publisher.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include "events/kafka/kafka_client.hpp"
#include "logging/logging.hpp"

namespace flint::events {
namespace {

// The acknowledgements one publish waits for. Touched only on the relay
// thread: delivery reports run inside its rd_kafka_poll calls.
struct Acknowledgements {
  explicit Acknowledgements(std::size_t records) {
    tickets.reserve(records);  // stable: each record's report points at its ticket
  }
  // One per record produced.
  struct Ticket {
    Acknowledgements* batch;
    const OutboxEvent* event;
    bool acknowledged = false;
  };
  std::size_t pending = 0;
  std::string first_error;
  std::vector<Ticket> tickets;
  // The outbox topics with a record not delivered.
  std::set<std::string, std::less<>> failed_topics;
};

void on_delivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* message, void* /*opaque*/) {
  auto* ticket = static_cast<Acknowledgements::Ticket*>(message->_private);
  Acknowledgements* batch = ticket->batch;
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) ticket->acknowledged = true;
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) batch->failed_topics.insert(ticket->event->topic);
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR && batch->first_error.empty()) {
    batch->first_error = fmt::format("topic {}: {}", rd_kafka_topic_name(message->rkt),
                                     rd_kafka_err2str(message->err));
    if (message->err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
      // The client checked the record itself: the broker refused the batch
      // it was sent in. No retry helps until the limits agree.
      batch->first_error +=
          " (the broker refused a record batch over the topic's max.message.bytes: raise that, "
          "or keep messaging.config batch.size and message.max.bytes under it)";
    }
  }
  --batch->pending;
}

}  // namespace

KafkaEventPublisher::KafkaEventPublisher(Options options) : options_(std::move(options)) {
  rd_kafka_conf_t* conf = new_kafka_conf({options_.bootstrap_servers, options_.client_config},
                                         producer_settings("flint", options_.delivery_timeout));
  rd_kafka_conf_set_dr_msg_cb(conf, &on_delivery);
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_error_cb(conf, [](rd_kafka_t* rk, int err, const char* reason, void* opaque) {
    static_cast<KafkaEventPublisher*>(opaque)->outage_.on_error(rk, err, reason);
  });
  producer_ = new_kafka_client(conf, /*consumer=*/false, "events");
}

KafkaEventPublisher::~KafkaEventPublisher() {
  // Whatever is still queued stays in the outbox: purge, do not wait.
  rd_kafka_purge(producer_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(producer_, 0);
  rd_kafka_destroy(producer_);
}

void KafkaEventPublisher::publish(std::span<const OutboxEvent> batch) {
  Acknowledgements tracker(batch.size());
  std::string error;
  // A topic that fails takes none of its later events (they keep their
  // order); the other topics' events go on.
  const auto topic_failed = [&](const OutboxEvent& event, std::string why) {
    if (error.empty()) error = std::move(why);
    tracker.failed_topics.insert(event.topic);
  };
  for (const OutboxEvent& event : batch) {
    const auto topic = options_.topics.find(event.topic);
    if (topic == options_.topics.end()) continue;  // not an event Kafka carries
    if (tracker.failed_topics.contains(event.topic)) continue;
    // Kafka has it from an earlier try, which failed further on.
    if (acknowledged_ids_.contains(event.event_id)) continue;
    if (interrupted_.load()) break;
    try {
      ensure_topic(topic->second);
    } catch (const std::exception& e) {
      topic_failed(event, e.what());
      continue;
    }
    rd_kafka_headers_t* headers = rd_kafka_headers_new(2);
    if (event.tenant_id) {
      rd_kafka_header_add(headers, "tenantId", -1, event.tenant_id->data(),
                          static_cast<ssize_t>(event.tenant_id->size()));
    }
    rd_kafka_header_add(headers, "eventId", -1, event.event_id.data(),
                        static_cast<ssize_t>(event.event_id.size()));
    Acknowledgements::Ticket* ticket =
        &tracker.tickets.emplace_back(Acknowledgements::Ticket{&tracker, &event});
    rd_kafka_resp_err_t err;
    while (true) {
      // The contract's events have no key (partitioning is left to Kafka);
      // Flint's own keyed topics keep each key's records in one partition.
      const std::string_view key =
          topic->second.keyed && event.key ? std::string_view(*event.key) : std::string_view();
      err = rd_kafka_producev(
          producer_, RD_KAFKA_V_TOPIC(topic->second.name.c_str()),
          RD_KAFKA_V_KEY(key.empty() ? nullptr : const_cast<char*>(key.data()), key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(event.payload.data()), event.payload.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers),
          RD_KAFKA_V_OPAQUE(ticket), RD_KAFKA_V_END);
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || interrupted_.load()) break;
      rd_kafka_poll(producer_, 50);  // let acknowledgements make room
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_headers_destroy(headers);  // owned by the record only once produced
    }
    if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
      // Over the client's message.max.bytes: no retry can send it, and
      // retrying would hold every later event behind it. It stays in the
      // event log and the execution record.
      logging::logger("events")->error(
          "event {} ({} bytes) is larger than Kafka's message.max.bytes: not sent to "
          "topic {}; it stays in the event log",
          event.event_id, event.payload.size(), topic->second.name);
      continue;
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      topic_failed(event, fmt::format("topic {}: {}", topic->second.name, rd_kafka_err2str(err)));
      continue;
    }
    ++tracker.pending;
  }
  // Wait for every record produced, even after an error: none may be left
  // in flight when this returns, or a retry would race it.
  while (tracker.pending > 0) {
    if (interrupted_.load()) {
      rd_kafka_purge(producer_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    }
    rd_kafka_poll(producer_, 100);
  }
  if (error.empty()) error = tracker.first_error;
  const bool interrupted = interrupted_.load();
  if (error.empty() && interrupted) error = "interrupted: the relay is stopping";
  if (!error.empty()) {
    // No broker at all, or stopping: the relay offers the whole batch again.
    // Otherwise only the failed topics' events. A record that fails looks
    // the same (timed out) whether its topic is refused or every broker went
    // away just now: when none was acknowledged, a broker must answer.
    const bool whole =
        interrupted || !outage_.get().empty() || tracker.failed_topics.empty() ||
        (std::ranges::none_of(tracker.tickets, &Acknowledgements::Ticket::acknowledged) &&
         !brokers_answer());
    // What Kafka has is not sent again when offered again (a record failing
    // every time would otherwise repeat the others).
    for (const auto& ticket : tracker.tickets) {
      if (ticket.acknowledged && (whole || tracker.failed_topics.contains(ticket.event->topic))) {
        acknowledged_ids_.insert(ticket.event->event_id);
      }
    }
    if (whole) fail(std::move(error));
    for (const OutboxEvent& event : batch) {  // through: never offered again
      if (!tracker.failed_topics.contains(event.topic)) acknowledged_ids_.erase(event.event_id);
    }
    record_failure(error);
    throw TopicsNotDelivered(
        "Kafka: " + error,
        std::vector<std::string>(tracker.failed_topics.begin(), tracker.failed_topics.end()));
  }
  if (!acknowledged_ids_.empty()) {
    for (const OutboxEvent& event : batch) acknowledged_ids_.erase(event.event_id);
  }
  outage_.clear();  // Kafka took the batch: it can be reached
  std::lock_guard lock(status_mutex_);
  status_ = {};
}

void KafkaEventPublisher::idle() {
  rd_kafka_poll(producer_, 0);  // error callbacks (an outage) run here
  outage_.probe(producer_);
}

void KafkaEventPublisher::interrupt() noexcept {
  interrupted_.store(true);
}

KafkaEventPublisher::Status KafkaEventPublisher::status() const {
  {
    std::lock_guard lock(status_mutex_);
    if (!status_.healthy) return status_;
  }
  if (std::string outage = outage_.health_error(); !outage.empty()) {
    return {false, std::move(outage)};
  }
  return {};
}

bool KafkaEventPublisher::brokers_answer() {
  const rd_kafka_metadata_t* metadata = nullptr;
  const auto err = rd_kafka_metadata(producer_, /*all_topics=*/0, nullptr, &metadata, 1'000);
  if (metadata) rd_kafka_metadata_destroy(metadata);
  return err == RD_KAFKA_RESP_ERR_NO_ERROR;
}

void KafkaEventPublisher::record_failure(const std::string& message) {
  std::lock_guard lock(status_mutex_);
  status_ = {false, message};
}

void KafkaEventPublisher::fail(std::string message) {
  record_failure(message);
  throw std::runtime_error("Kafka: " + message);
}

void KafkaEventPublisher::ensure_topic(const Topic& topic) {
  if (!topic.auto_create || created_topics_.contains(topic.name)) return;
  create_topic(producer_, topic, options_.delivery_timeout, &interrupted_);
  created_topics_.insert(topic.name);
}

}  // namespace flint::events
