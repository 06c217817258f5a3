#include "config/kafka_settings.hpp"

#include <memory>
#include <string>

#include <librdkafka/rdkafka.h>

#include "config/secret_name.hpp"

namespace flint::config {

std::vector<ValueProblem> check_kafka_client_settings(const StringMap& settings) {
  std::vector<ValueProblem> problems;
  if (settings.empty()) return problems;
  const std::unique_ptr<rd_kafka_conf_t, decltype(&rd_kafka_conf_destroy)> conf(
      rd_kafka_conf_new(), &rd_kafka_conf_destroy);
  for (const auto& [name, value] : settings) {
    if (name == "plugin.library.paths") continue;  // loads code: left to the start
    // Applied after messaging.connection_address, it would silently win
    // (while health names connection_address).
    if (name == "bootstrap.servers" || name == "metadata.broker.list") {
      problems.push_back({name, "set messaging.connection_address instead"});
      continue;
    }
    // Room for librdkafka to quote the whole value, so that a quoted secret is
    // never cut short and missed by the search below.
    std::string error(value.size() + 512, '\0');
    const auto result =
        rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), error.data(), error.size());
    if (result == RD_KAFKA_CONF_OK) continue;
    error.resize(error.find('\0'));
    problems.push_back({name, result == RD_KAFKA_CONF_UNKNOWN
                                  ? std::string("librdkafka has no such property")
                                  : kafka_refusal(name, value, error)});
  }
  return problems;
}

std::string kafka_refusal(std::string_view name, std::string_view value, std::string_view error) {
  if (looks_secret(name) && !value.empty() && error.find(value) != std::string_view::npos) {
    return "librdkafka refuses the value (not shown: the name looks secret)";
  }
  return "librdkafka refuses it: " + std::string(error);
}

std::vector<ValueProblem> validate_kafka_client_settings(const ConfigValue& value) {
  const auto* settings = std::get_if<StringMap>(&value);
  return settings == nullptr ? std::vector<ValueProblem>{} : check_kafka_client_settings(*settings);
}

}  // namespace flint::config
