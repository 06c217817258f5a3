#pragma once

/// @file
/// Validation of librdkafka client settings (`messaging.config`) while the
/// configuration is loaded, rather than when the first Kafka client starts.

#include <string>
#include <string_view>
#include <vector>

#include "config/option_spec.hpp"

namespace flint::config {

/// Tries each setting on a throwaway librdkafka configuration, as the Kafka
/// clients set them at start, and returns one problem per setting librdkafka
/// refuses (an unknown property, an invalid value), each naming its entry.
/// The value of a setting whose name looks secret is never quoted.
/// `bootstrap.servers` (and its alias `metadata.broker.list`) is refused:
/// `messaging.connection_address` is the one place for the brokers.
///
/// `plugin.library.paths` is not tried (setting it loads the plugins); it is
/// checked when the clients start. Checks librdkafka makes only when a client
/// is created (files such as `ssl.ca.location`, a SASL mechanism this build
/// lacks) happen at start too. Thread-safe.
std::vector<ValueProblem> check_kafka_client_settings(const StringMap& settings);

/// The problem reported for a setting librdkafka refuses with `error`: its
/// message, unless the name looks secret and the message quotes the value.
std::string kafka_refusal(std::string_view name, std::string_view value, std::string_view error);

/// `check_kafka_client_settings` as an `OptionSpec::validator` of a string map.
std::vector<ValueProblem> validate_kafka_client_settings(const ConfigValue& value);

/// Checks a bootstrap server list (`messaging.connection_address`): empty
/// (no Kafka), or comma-separated `[scheme://]host[:port]` entries with a
/// port from 1 to 65535 (librdkafka would take port 65537 as 1). Hosts may
/// be names, IPv4 addresses or bracketed IPv6 addresses. One problem per bad
/// entry, naming it. An `OptionSpec::validator` of a string.
std::vector<ValueProblem> validate_kafka_bootstrap_servers(const ConfigValue& value);

/// Checks a Kafka topic name: 1 to 249 characters of `a-z A-Z 0-9 . _ -`,
/// not `.` or `..` (what brokers accept). An `OptionSpec::validator` of a
/// string.
std::vector<ValueProblem> validate_kafka_topic_name(const ConfigValue& value);

/// Checks the settings of a topic Flint creates (`messaging.topics.*.config`):
/// each name is a Kafka topic setting's shape (`a-z 0-9 . _ -`, as in
/// `retention.ms`), each value is non-empty and has no control character.
/// The broker checks the rest when it creates the topic. An
/// `OptionSpec::validator` of a string map.
std::vector<ValueProblem> validate_kafka_topic_settings(const ConfigValue& value);

/// `validate_kafka_topic_settings`, and a `cleanup.policy`, when given, must
/// keep `compact`: a topic whose latest record per key is the state (Flint
/// adds `cleanup.policy=compact` when the entry is absent).
std::vector<ValueProblem> validate_compacted_topic_settings(const ConfigValue& value);

}  // namespace flint::config
