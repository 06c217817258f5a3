#pragma once

/// @file
/// For tests: librdkafka's mock cluster, brokers speaking the Kafka protocol
/// on loopback, in this process.

#include <string>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

namespace flint::events::testing {

/// `brokers` mock brokers (ids 1..brokers; one of them the group
/// coordinator) with the one-partition topic `topic`.
class MockCluster {
 public:
  MockCluster(int brokers, const std::string& topic) : brokers_(brokers) {
    char error[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", error, sizeof error);
    host_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
    cluster_ = rd_kafka_mock_cluster_new(host_, brokers);
    rd_kafka_mock_topic_create(cluster_, topic.c_str(), 1, 1);
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(host_);
  }
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  std::string bootstrap() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  /// The next produce request fails with `error`.
  void push_produce_error(rd_kafka_resp_err_t error) {
    constexpr int16_t kProduceApiKey = 0;  // the protocol's; librdkafka keeps its names internal
    rd_kafka_mock_push_request_errors(cluster_, kProduceApiKey, 1, error);
  }
  /// Every broker up, or down (connections closed and refused).
  void set_all(bool up) {
    for (int id = 1; id <= brokers_; ++id) {
      up ? rd_kafka_mock_broker_set_up(cluster_, id) : rd_kafka_mock_broker_set_down(cluster_, id);
    }
  }

 private:
  int brokers_;
  rd_kafka_t* host_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

}  // namespace flint::events::testing
