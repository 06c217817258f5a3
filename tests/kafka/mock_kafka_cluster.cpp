/// @file
/// `flint_mock_kafka`: a Kafka cluster on loopback for tests, built on
/// librdkafka's mock cluster (`rdkafka_mock.h`), which speaks the real Kafka
/// protocol to any client (flint, a Python consumer...).
///
/// Prints one JSON line, `{"bootstrap": "127.0.0.1:PORT,..."}`, once the
/// brokers listen, then reads commands from stdin, one per line, and answers
/// each with `ok` or `error: ...`:
///
///   topic NAME PARTITIONS   create a topic (replication factor 1)
///   down ID|all             take a broker (1..N) or all of them down
///   up ID|all               bring it (them) back
///   topic-error NAME CODE   answer metadata requests for the topic with
///                           Kafka error CODE (a number; 0 clears it)
///   quit                    stop (as does the end of stdin)

#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

namespace {

bool set_brokers(rd_kafka_mock_cluster_t* cluster, int brokers, const std::string& which, bool up) {
  const auto apply = [&](int id) {
    return (up ? rd_kafka_mock_broker_set_up(cluster, id)
               : rd_kafka_mock_broker_set_down(cluster, id)) == RD_KAFKA_RESP_ERR_NO_ERROR;
  };
  if (which == "all") {
    bool ok = true;
    for (int id = 1; id <= brokers; ++id) ok = apply(id) && ok;
    return ok;
  }
  try {
    return apply(std::stoi(which));
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Kafka mock cluster on loopback (librdkafka rdkafka_mock) for tests"};
  int brokers = 3;
  std::vector<std::string> topics;
  app.add_option("--brokers", brokers, "Number of brokers")->check(CLI::Range(1, 16));
  app.add_option("--topic", topics, "Topic to create at start, NAME or NAME:PARTITIONS");
  CLI11_PARSE(app, argc, argv);

  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", error, sizeof error);
  rd_kafka_t* host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (host == nullptr) {
    std::cerr << "cannot create the client hosting the mock cluster: " << error << "\n";
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(host, brokers);
  if (cluster == nullptr) {
    std::cerr << "cannot create the mock cluster\n";
    rd_kafka_destroy(host);
    return 1;
  }
  for (const std::string& spec : topics) {
    const auto colon = spec.find(':');
    const std::string name = spec.substr(0, colon);
    const int partitions = colon == std::string::npos ? 1 : std::stoi(spec.substr(colon + 1));
    if (rd_kafka_mock_topic_create(cluster, name.c_str(), partitions, 1) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::cerr << "cannot create topic " << name << "\n";
      return 1;
    }
  }
  std::cout << "{\"bootstrap\": \"" << rd_kafka_mock_cluster_bootstraps(cluster) << "\"}"
            << std::endl;

  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream words(line);
    std::string command;
    std::string argument;
    words >> command >> argument;
    bool ok = false;
    if (command == "quit") break;
    if (command == "topic") {
      int partitions = 1;
      words >> partitions;
      ok = !argument.empty() && partitions > 0 &&
           rd_kafka_mock_topic_create(cluster, argument.c_str(), partitions, 1) ==
               RD_KAFKA_RESP_ERR_NO_ERROR;
    } else if (command == "down" || command == "up") {
      ok = set_brokers(cluster, brokers, argument, command == "up");
    } else if (command == "topic-error") {
      int code = -1;
      words >> code;
      ok = !argument.empty() && code >= 0;
      if (ok) {
        rd_kafka_mock_topic_set_error(cluster, argument.c_str(),
                                      static_cast<rd_kafka_resp_err_t>(code));
      }
    }
    std::cout << (ok ? "ok" : "error: " + line) << std::endl;
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(host);
  return 0;
}
