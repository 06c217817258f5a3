#include "config/kafka_settings.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace flint::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

TEST(KafkaClientSettings, KnownPropertiesWithValidValuesPass) {
  EXPECT_THAT(check_kafka_client_settings({}), SizeIs(0));
  EXPECT_THAT(check_kafka_client_settings({{"acks", "all"},
                                           {"security.protocol", "sasl_ssl"},
                                           {"sasl.username", "flint"},
                                           {"sasl.password", "hunter2"},
                                           {"linger.ms", "5"}}),
              SizeIs(0));
}

TEST(KafkaClientSettings, EveryRefusedSettingIsReported) {
  const auto problems = check_kafka_client_settings(
      {{"bogus.prop", "1"}, {"acks", "most"}, {"linger.ms", "soon"}, {"also.bogus", "x"}});
  ASSERT_THAT(problems, SizeIs(4));
  // In name order, each naming its entry.
  EXPECT_EQ(problems[0].entry, "acks");
  EXPECT_THAT(problems[0].message, HasSubstr("librdkafka refuses it: "));
  EXPECT_EQ(problems[1].entry, "also.bogus");
  EXPECT_EQ(problems[1].message, "librdkafka has no such property");
  EXPECT_EQ(problems[2].entry, "bogus.prop");
  EXPECT_EQ(problems[3].entry, "linger.ms");
}

TEST(KafkaClientSettings, RefusalsQuoteLibrdkafkaUnlessItQuotesASecret) {
  // librdkafka quotes some refused values (flags such as `debug`).
  const auto problems = check_kafka_client_settings({{"debug", "nonsense"}});
  ASSERT_THAT(problems, SizeIs(1));
  EXPECT_THAT(problems[0].message, HasSubstr("librdkafka refuses it: "));
  EXPECT_THAT(problems[0].message, HasSubstr("nonsense"));
  // A secret-looking setting whose refusal quotes the value: not repeated.
  const auto hidden =
      kafka_refusal("ssl.key.password", "hunter2", R"(Invalid value "hunter2" for "x")");
  EXPECT_THAT(hidden, Not(HasSubstr("hunter2")));
  EXPECT_THAT(hidden, HasSubstr("not shown"));
  // Its refusal is kept when it does not quote the value (a feature missing).
  EXPECT_EQ(kafka_refusal("ssl.key.password", "hunter2", "not supported in this build"),
            "librdkafka refuses it: not supported in this build");
}

TEST(KafkaClientSettings, TheBrokersAreGivenOnlyByConnectionAddress) {
  const auto problems = check_kafka_client_settings(
      {{"bootstrap.servers", "127.0.0.1:1"}, {"metadata.broker.list", "127.0.0.1:2"}});
  ASSERT_THAT(problems, SizeIs(2));
  EXPECT_EQ(problems[0].entry, "bootstrap.servers");
  EXPECT_EQ(problems[0].message, "set messaging.connection_address instead");
  EXPECT_EQ(problems[1].entry, "metadata.broker.list");
  EXPECT_EQ(problems[1].message, "set messaging.connection_address instead");
}

TEST(KafkaClientSettings, PluginsAreNotLoadedWhileValidating) {
  EXPECT_THAT(check_kafka_client_settings({{"plugin.library.paths", "/nonexistent/plugin.so"}}),
              SizeIs(0));
}

TEST(KafkaClientSettings, ValidatorIgnoresOtherTypes) {
  EXPECT_THAT(validate_kafka_client_settings(ConfigValue{std::string("x")}), SizeIs(0));
  EXPECT_THAT(validate_kafka_client_settings(ConfigValue{StringMap{{"nope", "1"}}}), SizeIs(1));
}

std::vector<std::string> messages(const std::vector<ValueProblem>& problems) {
  std::vector<std::string> out;
  for (const auto& problem : problems) out.push_back(problem.message);
  return out;
}

TEST(KafkaBootstrapServers, AcceptsHostPortListsOfEveryForm) {
  for (const std::string list :
       {"", "localhost:9092", "10.0.0.1:9092, kafka-2.example.com:9093", "broker",
        "SASL_SSL://broker:9094", "[::1]:9092", "[fe80::1]", "a:1,b:65535"}) {
    EXPECT_THAT(validate_kafka_bootstrap_servers(list), SizeIs(0)) << list;
  }
}

TEST(KafkaBootstrapServers, NamesEachBadEntry) {
  EXPECT_THAT(
      messages(validate_kafka_bootstrap_servers("127.0.0.1:65537,ok:1,x:0,y:port")),
      ::testing::ElementsAre("\"127.0.0.1:65537\": the port must be a number from 1 to 65535",
                             "\"x:0\": the port must be a number from 1 to 65535",
                             "\"y:port\": the port must be a number from 1 to 65535"));
  EXPECT_THAT(messages(validate_kafka_bootstrap_servers(",")),
              ::testing::Each(HasSubstr("an empty entry")));
  EXPECT_THAT(validate_kafka_bootstrap_servers(" "), SizeIs(1));
  EXPECT_THAT(messages(validate_kafka_bootstrap_servers(":9092")),
              ::testing::ElementsAre("\":9092\": expected host:port"));
  EXPECT_THAT(messages(validate_kafka_bootstrap_servers("[::1:9092")),
              ::testing::ElementsAre(HasSubstr("without its closing ]")));
}

TEST(KafkaTopicName, AcceptsWhatBrokersAccept) {
  for (const std::string& name : std::vector<std::string>{"lm_vnfc_lifecycle_execution_events",
                                                          "a.b-c_D9", std::string(249, 't')}) {
    EXPECT_THAT(validate_kafka_topic_name(name), SizeIs(0)) << name;
  }
  for (const std::string& name :
       std::vector<std::string>{"", ".", "..", "bad topic", "a/b", std::string(250, 't')}) {
    EXPECT_THAT(messages(validate_kafka_topic_name(name)),
                ::testing::ElementsAre(HasSubstr("1 to 249 characters")))
        << name;
  }
}

TEST(KafkaTopicSettings, NamesAndValuesMustBeUsable) {
  EXPECT_THAT(validate_kafka_topic_settings(
                  StringMap{{"retention.ms", "604800000"}, {"min.insync.replicas", "2"}}),
              SizeIs(0));
  const auto problems = validate_kafka_topic_settings(
      StringMap{{"Retention.MS", "1"}, {"segment.ms", ""}, {"retention.bytes", "1\n2"}});
  ASSERT_THAT(problems, SizeIs(3));
  EXPECT_EQ(problems[0].entry, "Retention.MS");
  EXPECT_THAT(problems[0].message, HasSubstr("a topic setting's name is"));
  EXPECT_EQ(problems[1].entry, "retention.bytes");
  EXPECT_THAT(problems[1].message, HasSubstr("control character"));
  EXPECT_EQ(problems[2].entry, "segment.ms");
  EXPECT_THAT(problems[2].message, HasSubstr("expected a value"));
}

TEST(KafkaTopicSettings, AStateTopicKeepsCompaction) {
  EXPECT_THAT(validate_compacted_topic_settings(StringMap{{"retention.ms", "-1"}}), SizeIs(0));
  EXPECT_THAT(validate_compacted_topic_settings(StringMap{{"cleanup.policy", "compact,delete"}}),
              SizeIs(0));
  const auto problems = validate_compacted_topic_settings(StringMap{{"cleanup.policy", "delete"}});
  ASSERT_THAT(problems, SizeIs(1));
  EXPECT_EQ(problems[0].entry, "cleanup.policy");
  EXPECT_THAT(problems[0].message, HasSubstr("must be compacted"));
}

}  // namespace
}  // namespace flint::config
