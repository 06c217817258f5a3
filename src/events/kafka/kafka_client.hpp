#pragma once

/// @file
/// What every Kafka client of Flint shares: how it is configured from
/// `messaging.*`, and where librdkafka's own logs go.

#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

struct rd_kafka_conf_s;

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

/// A new librdkafka configuration: the bootstrap servers, `flint_settings`
/// (Flint's choices for this client), then the pass-through settings, with
/// the log callback set. The caller owns it (rd_kafka_new takes it).
/// @throws KafkaConfigError naming the setting the client refused.
rd_kafka_conf_s* new_kafka_conf(const KafkaClientOptions& options,
                                const std::vector<std::pair<std::string, std::string>>& flint_settings);

}  // namespace flint::events
