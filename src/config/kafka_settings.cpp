#include "config/kafka_settings.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <memory>
#include <optional>
#include <string>

#include <librdkafka/rdkafka.h>

#include "config/secret_name.hpp"
#include "config/text.hpp"

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

namespace {

bool valid_port(std::string_view text) {
  int port = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
  return !text.empty() && error == std::errc() && end == text.data() + text.size() && port >= 1 &&
         port <= 65535;
}

// Why `server` ([scheme://]host[:port]) is not one, or empty when it is.
std::string bootstrap_server_problem(std::string_view server) {
  if (const auto scheme = server.find("://"); scheme != std::string_view::npos) {
    server.remove_prefix(scheme + 3);
  }
  std::string_view host = server;
  std::optional<std::string_view> port;
  if (server.starts_with('[')) {  // [IPv6]:port
    const auto close = server.find(']');
    if (close == std::string_view::npos) return "an IPv6 address without its closing ]";
    host = server.substr(0, close + 1);
    if (close + 1 < server.size()) {
      if (server[close + 1] != ':') return "expected :port after the IPv6 address";
      port = server.substr(close + 2);
    }
  } else if (const auto colon = server.rfind(':'); colon != std::string_view::npos) {
    host = server.substr(0, colon);
    port = server.substr(colon + 1);
  }
  const bool bracketed = host.starts_with('[');
  if (host.empty() || (!bracketed && host.find_first_of(" \t/:") != std::string_view::npos)) {
    return "expected host:port";
  }
  if (port && !valid_port(*port)) return "the port must be a number from 1 to 65535";
  return {};
}

}  // namespace

std::vector<ValueProblem> validate_kafka_bootstrap_servers(const ConfigValue& value) {
  std::vector<ValueProblem> problems;
  const auto* text = std::get_if<std::string>(&value);
  if (text == nullptr || text->empty()) return problems;
  std::string_view rest = *text;
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view server = trim(rest.substr(0, comma));
    if (server.empty()) {
      problems.push_back({"", "an empty entry in the list (host:port,host:port...)"});
    } else if (const std::string problem = bootstrap_server_problem(server); !problem.empty()) {
      problems.push_back({"", "\"" + std::string(server) + "\": " + problem});
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return problems;
}

std::vector<ValueProblem> validate_kafka_topic_settings(const ConfigValue& value) {
  const auto* settings = std::get_if<StringMap>(&value);
  std::vector<ValueProblem> problems;
  if (settings == nullptr) return problems;
  for (const auto& [name, setting] : *settings) {
    const bool named = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    });
    if (!named) {
      problems.push_back({name,
                          "a topic setting's name is a-z, 0-9, '.', '_' and '-' "
                          "(as in retention.ms)"});
    } else if (setting.empty()) {
      problems.push_back({name, "expected a value (omit the entry for the broker's default)"});
    } else if (std::any_of(setting.begin(), setting.end(),
                           [](unsigned char c) { return c < 0x20 || c == 0x7f; })) {
      problems.push_back({name, "the value has a control character"});
    }
  }
  return problems;
}

std::vector<ValueProblem> validate_compacted_topic_settings(const ConfigValue& value) {
  auto problems = validate_kafka_topic_settings(value);
  const auto* settings = std::get_if<StringMap>(&value);
  if (settings == nullptr) return problems;
  if (const auto policy = settings->find("cleanup.policy");
      policy != settings->end() && policy->second.find("compact") == std::string::npos) {
    problems.push_back({"cleanup.policy",
                        "this topic must be compacted (\"compact\" or \"compact,delete\"): "
                        "its latest record per execution is the execution's state"});
  }
  return problems;
}

std::vector<ValueProblem> validate_kafka_topic_name(const ConfigValue& value) {
  const auto* name = std::get_if<std::string>(&value);
  if (name == nullptr) return {};
  const bool allowed =
      !name->empty() && name->size() <= 249 && *name != "." && *name != ".." &&
      std::all_of(name->begin(), name->end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
      });
  if (allowed) return {};
  return {{"",
           "a Kafka topic name is 1 to 249 characters of a-z, A-Z, 0-9, '.', '_' and '-' "
           "(not \".\" or \"..\")"}};
}

}  // namespace flint::config
