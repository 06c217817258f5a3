/// @file
/// The reference point of bench/run_kafka: librdkafka producing records as
/// fast as it can to a cluster, with the settings Flint's publisher uses
/// (idempotent, acks=all, no key, the headers tenantId and eventId), every
/// record acknowledged before the clock stops. Nothing else: no HTTP, no
/// store, no outbox.
///
/// Prints one JSON line on stdout:
/// `{"records":N,"bytes":B,"seconds":S,"records_per_s":R}`.
/// Exit status 0, or 1 with a message on stderr when a record fails.

#include <chrono>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>
#include <librdkafka/rdkafka.h>

namespace {

int failed = 0;

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void*) {
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR && failed++ == 0) {
    std::fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(message->err));
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"librdkafka raw produce rate (baseline of bench/run_kafka)"};
  std::string bootstrap;
  std::string topic;
  int records = 100'000;
  std::size_t size = 200;
  app.add_option("--bootstrap", bootstrap, "Bootstrap servers")->required();
  app.add_option("--topic", topic, "Topic")->required();
  app.add_option("--records", records, "Records to produce")->check(CLI::Range(1, 100'000'000));
  app.add_option("--size", size, "Bytes of each record's value")->check(CLI::Range(1, 1'000'000));
  CLI11_PARSE(app, argc, argv);

  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [key, value] :
       {std::pair<const char*, std::string>{"bootstrap.servers", bootstrap},
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"log_level", "3"}}) {
    if (rd_kafka_conf_set(conf, key, value.c_str(), error, sizeof error) != RD_KAFKA_CONF_OK) {
      std::fprintf(stderr, "%s: %s\n", key, error);
      return 1;
    }
  }
  rd_kafka_conf_set_dr_msg_cb(conf, &on_delivery);
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (producer == nullptr) {
    std::fprintf(stderr, "cannot create the producer: %s\n", error);
    return 1;
  }
  const std::string value(size, 'x');
  const std::string event_id = "01a201bc-a723-71a7-9053-842fcc6ca572";
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < records; ++i) {
    while (true) {
      rd_kafka_headers_t* headers = rd_kafka_headers_new(2);
      rd_kafka_header_add(headers, "tenantId", -1, "tenant", 6);
      rd_kafka_header_add(headers, "eventId", -1, event_id.data(),
                          static_cast<ssize_t>(event_id.size()));
      const auto err = rd_kafka_producev(
          producer, RD_KAFKA_V_TOPIC(topic.c_str()),
          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      rd_kafka_headers_destroy(headers);
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        std::fprintf(stderr, "produce failed: %s\n", rd_kafka_err2str(err));
        return 1;
      }
      rd_kafka_poll(producer, 10);
    }
    rd_kafka_poll(producer, 0);
  }
  rd_kafka_flush(producer, 60'000);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  rd_kafka_destroy(producer);
  if (failed > 0) return 1;
  std::printf("{\"records\":%d,\"bytes\":%zu,\"seconds\":%.3f,\"records_per_s\":%.1f}\n", records,
              size, seconds, records / seconds);
  return 0;
}
