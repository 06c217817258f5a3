#include "events/kafka/kafka_event_publisher.hpp"

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include "events/kafka/kafka_client.hpp"
#include "events/kafka/mock_cluster_testing.hpp"

namespace flint::events {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

// A three-broker mock cluster with the topic "events".
class MockCluster : public testing::MockCluster {
 public:
  MockCluster() : testing::MockCluster(3, "events") {}

  struct Record {
    std::string value;
    bool has_key;
    std::map<std::string, std::string> headers;
  };
  // Every record of `topic` from the start, read by a real consumer.
  std::vector<Record> read(const std::string& topic, std::size_t expected) const {
    char error[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap().c_str(), error, sizeof error);
    rd_kafka_conf_set(conf, "group.id", "test", error, sizeof error);
    rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", error, sizeof error);
    rd_kafka_conf_set(conf, "log_level", "0", error, sizeof error);
    rd_kafka_t* consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
    rd_kafka_poll_set_consumer(consumer);
    rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, topic.c_str(), RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(consumer, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    std::vector<Record> records;
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    while (records.size() < expected && std::chrono::steady_clock::now() < deadline) {
      rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer, 200);
      if (message == nullptr) continue;
      if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        Record record{std::string(static_cast<const char*>(message->payload), message->len),
                      message->key != nullptr,
                      {}};
        rd_kafka_headers_t* headers = nullptr;
        if (rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
          const char* name;
          const void* value;
          std::size_t size;
          for (std::size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) ==
                                  RD_KAFKA_RESP_ERR_NO_ERROR;
               ++i) {
            record.headers[name] = std::string(static_cast<const char*>(value), size);
          }
        }
        records.push_back(std::move(record));
      }
      rd_kafka_message_destroy(message);
    }
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    return records;
  }
};

KafkaEventPublisher::Options options(const MockCluster& cluster) {
  KafkaEventPublisher::Options options;
  options.bootstrap_servers = cluster.bootstrap();
  options.client_config = {{"log_level", "0"}};
  KafkaEventPublisher::Topic topic;
  topic.name = "events";
  options.topics.emplace("lifecycle_execution_events", topic);
  options.delivery_timeout = 2s;
  return options;
}

OutboxEvent event(std::int64_t seq, std::optional<std::string> tenant = std::nullopt,
                  std::string topic = "lifecycle_execution_events") {
  return {seq,
          "event-" + std::to_string(seq),
          std::move(topic),
          "request-" + std::to_string(seq),
          std::move(tenant),
          R"({"requestId":"request-)" + std::to_string(seq) + R"(","status":"COMPLETE"})",
          0};
}

TEST(KafkaEventPublisher, PublishesPayloadsUnkeyedWithTenantAndEventIdHeaders) {
  MockCluster cluster;
  KafkaEventPublisher publisher(options(cluster));
  const std::vector<OutboxEvent> batch{event(1, "tenant-a"), event(2),
                                       event(3, std::nullopt, "not_for_kafka")};
  publisher.publish(batch);
  EXPECT_TRUE(publisher.status().healthy);

  const auto records = cluster.read("events", 2);
  ASSERT_EQ(records.size(), 2u);  // the unmapped topic's event was skipped
  EXPECT_EQ(records[0].value, batch[0].payload);
  EXPECT_FALSE(records[0].has_key);
  EXPECT_EQ(records[0].headers.at("tenantId"), "tenant-a");
  EXPECT_EQ(records[0].headers.at("eventId"), "event-1");
  EXPECT_EQ(records[1].value, batch[1].payload);
  EXPECT_FALSE(records[1].headers.contains("tenantId"));
}

TEST(KafkaEventPublisher, AnEventTooLargeForKafkaIsSkippedNotRetriedForever) {
  MockCluster cluster;
  auto settings = options(cluster);
  settings.client_config["message.max.bytes"] = "100000";
  KafkaEventPublisher publisher(settings);
  OutboxEvent huge = event(2);
  huge.payload = R"({"outputs":")" + std::string(200'000, 'x') + R"("})";
  const std::vector<OutboxEvent> batch{event(1), huge, event(3)};
  publisher.publish(batch);  // does not throw: the relay moves on
  EXPECT_TRUE(publisher.status().healthy);
  const auto records = cluster.read("events", 2);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].headers.at("eventId"), "event-1");
  EXPECT_EQ(records[1].headers.at("eventId"), "event-3");
}

TEST(KafkaEventPublisher, ABatchTheBrokerRefusesAsTooLargeSaysWhichLimitsToAlign) {
  MockCluster cluster;
  KafkaEventPublisher publisher(options(cluster));
  publisher.publish(std::vector<OutboxEvent>{event(1)});  // connected, producer id known
  cluster.push_produce_error(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  try {
    publisher.publish(std::vector<OutboxEvent>{event(2)});
    FAIL() << "the refused batch was taken";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("max.message.bytes"));
  }
  EXPECT_THAT(publisher.status().last_error, HasSubstr("messaging.config batch.size"));
  // The relay offers it again; once the broker takes it, nothing was lost.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  bool delivered = false;
  while (!delivered && std::chrono::steady_clock::now() < deadline) {
    try {
      publisher.publish(std::vector<OutboxEvent>{event(2)});
      delivered = true;
    } catch (const std::runtime_error&) {
    }
  }
  EXPECT_TRUE(delivered);
}

TEST(KafkaEventPublisher, ATopicKafkaRefusesHoldsBackOnlyItsEventsAndNothingIsRepeated) {
  MockCluster cluster;
  auto settings = options(cluster);
  // The mock cannot create topics: every try of event 2 fails, as on a
  // cluster that refuses this client CreateTopics.
  KafkaEventPublisher::Topic uncreatable;
  uncreatable.name = "tasks";
  uncreatable.auto_create = true;
  settings.topics.emplace("infrastructure_task_events", uncreatable);
  KafkaEventPublisher publisher(settings);
  const std::vector<OutboxEvent> batch{
      event(1), event(2, std::nullopt, "infrastructure_task_events"), event(3)};
  // As the relay does: the whole batch once, then only the held topic's events.
  const std::vector<OutboxEvent> held{batch[1]};
  for (int attempt = 0; attempt < 3; ++attempt) {
    try {
      publisher.publish(attempt == 0 ? batch : held);
      ADD_FAILURE() << "the refused topic was taken";
    } catch (const TopicsNotDelivered& e) {
      // Brokers answer: only that topic is held back (see OutboxRelay).
      EXPECT_THAT(e.topics(), ElementsAre("infrastructure_task_events"));
      EXPECT_THAT(e.what(), HasSubstr("topic tasks"));
    }
  }
  publisher.publish(std::vector<OutboxEvent>{event(4)});  // marks the end of the topic
  const auto records = cluster.read("events", 3);
  ASSERT_EQ(records.size(), 3u);
  // The other topic's events went on, once.
  EXPECT_EQ(records[0].headers.at("eventId"), "event-1");
  EXPECT_EQ(records[1].headers.at("eventId"), "event-3");
  EXPECT_EQ(records[2].headers.at("eventId"), "event-4");
}

TEST(KafkaEventPublisher, AnOutageFailsTheBatchUntilTheBrokersReturn) {
  MockCluster cluster;
  auto settings = options(cluster);
  settings.delivery_timeout = 500ms;
  KafkaEventPublisher publisher(settings);
  cluster.set_all(false);
  const std::vector<OutboxEvent> batch{event(1)};
  EXPECT_THROW(publisher.publish(batch), std::runtime_error);
  EXPECT_FALSE(publisher.status().healthy);
  EXPECT_FALSE(publisher.status().last_error.empty());

  cluster.set_all(true);
  // The relay offers the same batch again; it goes through once brokers answer.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  bool delivered = false;
  while (!delivered && std::chrono::steady_clock::now() < deadline) {
    try {
      publisher.publish(batch);
      delivered = true;
    } catch (const std::runtime_error&) {
    }
  }
  ASSERT_TRUE(delivered);
  EXPECT_TRUE(publisher.status().healthy);
  EXPECT_GE(cluster.read("events", 1).size(), 1u);
}

TEST(KafkaEventPublisher, AnOutageShowsInItsStatusWhileNothingIsSent) {
  MockCluster cluster;
  KafkaEventPublisher publisher(options(cluster));
  publisher.publish(std::vector<OutboxEvent>{event(1)});  // connected
  const auto until = [&](bool healthy) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (publisher.status().healthy != healthy && std::chrono::steady_clock::now() < deadline) {
      publisher.idle();  // as the relay calls it, with an empty outbox
      std::this_thread::sleep_for(100ms);
    }
    return publisher.status();
  };

  cluster.set_all(false);
  const auto down = until(false);
  ASSERT_FALSE(down.healthy);
  EXPECT_THAT(down.last_error, HasSubstr("Kafka cannot be reached"));

  cluster.set_all(true);
  EXPECT_TRUE(until(true).healthy);
}

TEST(KafkaEventPublisher, ItIsNotHealthyUntilKafkaFirstAnswers) {
  MockCluster cluster;
  cluster.set_all(false);
  KafkaEventPublisher publisher(options(cluster));
  // Before librdkafka gives up on its first connections, no error has
  // been reported: health must not read OK meanwhile.
  const auto before = publisher.status();
  EXPECT_FALSE(before.healthy);
  EXPECT_THAT(before.last_error, HasSubstr("Kafka has not answered yet"));

  cluster.set_all(true);
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!publisher.status().healthy && std::chrono::steady_clock::now() < deadline) {
    publisher.idle();  // as the relay calls it, with an empty outbox
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(publisher.status().healthy) << publisher.status().last_error;
}

TEST(KafkaEventPublisher, ARefusedSettingNamesItsKey) {
  MockCluster cluster;
  auto settings = options(cluster);
  settings.client_config["no.such.setting"] = "1";
  try {
    KafkaEventPublisher publisher(settings);
    FAIL() << "accepted an unknown setting";
  } catch (const KafkaConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("messaging.config.no.such.setting"));
  }
  settings.client_config = {{"linger.ms", "not-a-number"}};
  EXPECT_THROW(KafkaEventPublisher{settings}, KafkaConfigError);
}

TEST(KafkaEventPublisher, InterruptEndsAWaitingPublishAtOnce) {
  MockCluster cluster;
  auto settings = options(cluster);
  settings.delivery_timeout = 60s;
  KafkaEventPublisher publisher(settings);
  cluster.set_all(false);
  std::thread stopper([&] {
    std::this_thread::sleep_for(300ms);
    publisher.interrupt();
  });
  const auto started = std::chrono::steady_clock::now();
  const std::vector<OutboxEvent> batch{event(1)};
  EXPECT_THROW(publisher.publish(batch), std::runtime_error);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  stopper.join();
}

TEST(KafkaCommit, ACommitWithTheCoordinatorAwayEndsWithinItsLimit) {
  // rd_kafka_commit's synchronous form waited tens of seconds here, and
  // held a node's stop past its grace.
  MockCluster cluster;
  rd_kafka_conf_t* conf = new_kafka_conf(
      {.bootstrap_servers = cluster.bootstrap(), .client_config = {{"log_level", "0"}}},
      group_consumer_settings("test", "committers", 6s));
  rd_kafka_t* consumer = new_kafka_client(conf, /*consumer=*/true, "test consumer");
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, "events", RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(consumer, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  rd_kafka_topic_partition_list_t* assigned = nullptr;
  const auto joined_by = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < joined_by) {
    if (rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer, 100)) {
      rd_kafka_message_destroy(message);
    }
    if (rd_kafka_assignment(consumer, &assigned) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        assigned->cnt > 0) {
      break;
    }
    if (assigned != nullptr) rd_kafka_topic_partition_list_destroy(assigned);
    assigned = nullptr;
  }
  ASSERT_NE(assigned, nullptr) << "never joined the group";
  assigned->elems[0].offset = 0;
  EXPECT_EQ(commit_within(consumer, assigned, 5s), RD_KAFKA_RESP_ERR_NO_ERROR);

  cluster.set_all(false);
  const auto started = std::chrono::steady_clock::now();
  EXPECT_NE(commit_within(consumer, assigned, 500ms), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
  rd_kafka_topic_partition_list_destroy(assigned);
  cluster.set_all(true);
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
}

}  // namespace
}  // namespace flint::events
