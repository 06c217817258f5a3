#include "events/kafka/kafka_client.hpp"

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include "logging/logging.hpp"

namespace flint::events {
namespace {

// librdkafka's syslog levels to ours; its messages never carry setting values.
// Its errors are mostly a broker being away, which health reports and the
// outbox rides out: a warning, not an error of Flint's.
void on_log(const rd_kafka_t* /*rk*/, int level, const char* facility, const char* message) {
  static const auto log = logging::logger("kafka");
  const auto spd = level <= 4   ? spdlog::level::warn
                   : level <= 6 ? spdlog::level::info
                                : spdlog::level::debug;
  log->log(spd, "librdkafka {}: {}", facility, message);
}

}  // namespace

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

}  // namespace flint::events
