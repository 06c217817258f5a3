#include "events/kafka/kafka_client.hpp"

#include <chrono>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include "events/kafka/mock_cluster_testing.hpp"

namespace flint::events {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kSessionTimeout = 45s;  // what a deferred commit would hold a destroy for

// A group member of "t" as Flint makes them, with its outage tracked as
// Flint's consumers track it.
struct Member {
  KafkaOutage outage;
  rd_kafka_t* consumer = nullptr;

  explicit Member(const std::string& bootstrap) {
    rd_kafka_conf_t* conf =
        new_kafka_conf({.bootstrap_servers = bootstrap, .client_config = {{"log_level", "0"}}},
                       group_consumer_settings("member", "group", kSessionTimeout));
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_error_cb(conf, [](rd_kafka_t* rk, int err, const char* reason, void* self) {
      static_cast<Member*>(self)->outage.on_error(rk, err, reason);
    });
    consumer = new_kafka_client(conf, /*consumer=*/true, "member");
    rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, "t", RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(consumer, topics);
    rd_kafka_topic_partition_list_destroy(topics);
  }

  // Polls until `done` or `limit`; whether `done`.
  template <typename Done>
  bool poll_until(Done done, std::chrono::milliseconds limit) {
    const auto until = Clock::now() + limit;
    while (!done() && Clock::now() < until) {
      if (rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer, 100)) {
        rd_kafka_message_destroy(message);
      }
    }
    return done();
  }

  bool assigned() {
    rd_kafka_topic_partition_list_t* partitions = nullptr;
    rd_kafka_assignment(consumer, &partitions);
    const bool any = partitions != nullptr && partitions->cnt > 0;
    if (partitions) rd_kafka_topic_partition_list_destroy(partitions);
    return any;
  }

  // An asynchronous commit, as the request queue and the owner make them.
  void commit_async() {
    rd_kafka_topic_partition_list_t* offsets = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(offsets, "t", 0)->offset = 1;
    rd_kafka_commit(consumer, offsets, /*async=*/1);
    rd_kafka_topic_partition_list_destroy(offsets);
  }
};

TEST(DestroyConsumer, ReturnsAtOnceAfterAClose) {
  testing::MockCluster broker(1, "t");  // the group coordinator too
  Member member(broker.bootstrap());
  ASSERT_TRUE(member.poll_until([&] { return member.assigned(); }, 30s));
  member.commit_async();
  ASSERT_TRUE(close_consumer(member.consumer, member.outage, "member"));
  const auto started = Clock::now();
  destroy_consumer(member.consumer, /*closed=*/true, "member");
  EXPECT_LT(Clock::now() - started, kConsumerDestroyLimit);
  EXPECT_EQ(kafka_clients_left_running(), 0);
}

// A commit sent as the coordinator went away waits in librdkafka for one, up
// to the session timeout, and held the destroy (and with it a node's stop)
// as long. The client is left to the process's exit, which the child makes
// as `flint serve` does, with _Exit.
TEST(DestroyConsumerDeathTest, LeavesAClientWaitingForACoordinatorBehindWithinItsLimit) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        testing::MockCluster broker(1, "t");  // the group coordinator too
        Member member(broker.bootstrap());
        if (!member.poll_until([&] { return member.assigned(); }, 30s)) std::_Exit(2);
        broker.set_all(/*up=*/false);
        if (!member.poll_until([&] { return !member.outage.get().empty(); }, 30s)) std::_Exit(3);
        member.commit_async();  // deferred: no coordinator
        const auto started = Clock::now();
        destroy_consumer(member.consumer, close_consumer(member.consumer, member.outage, "member"),
                         "member");
        const auto took = Clock::now() - started;
        if (took > kConsumerDestroyLimit + 1s) std::_Exit(4);
        std::_Exit(kafka_clients_left_running() == 1 ? 0 : 5);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace flint::events
