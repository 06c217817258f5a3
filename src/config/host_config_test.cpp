#include "config/host_config.hpp"

#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "config/config_error.hpp"
#include "config/config_error_testing.hpp"
#include "config/units.hpp"

namespace flint::config {
namespace {

using std::chrono::milliseconds;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

using testing::errors_of;

class HostConfigFile : public ::testing::Test {
 protected:
  std::filesystem::path write(const std::string& text) {
    path_ = std::filesystem::temp_directory_path() /
            // One file per process and test: ctest runs tests of this binary in parallel.
            ("flint_host_config_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".yaml");
    std::ofstream(path_) << text;
    return path_;
  }
  void TearDown() override {
    if (!path_.empty()) std::filesystem::remove(path_);
  }

 private:
  std::filesystem::path path_;
};

TEST(HostConfig, Defaults) {
  const auto c = load_host_config(std::nullopt, {});
  EXPECT_EQ(c.application.host, "127.0.0.1");
  EXPECT_EQ(c.application.port, 8290);
  EXPECT_EQ(c.application.io_threads, 2u);
  EXPECT_EQ(c.http.max_header_size, 16 * KiB);
  EXPECT_EQ(c.http.max_body_size, 64 * MiB);
  EXPECT_EQ(c.http.read_timeout, milliseconds(30'000));
  EXPECT_EQ(c.http.idle_timeout, milliseconds(60'000));
  EXPECT_EQ(c.http.shutdown_timeout, milliseconds(10'000));
  EXPECT_EQ(c.http.max_connections, 4096u);
  EXPECT_EQ(c.driver_calls.threads, 16u);
  EXPECT_EQ(c.driver_calls.queue_size, 1024u);
  EXPECT_EQ(c.driver_calls.timeout, milliseconds(30'000));
  EXPECT_EQ(c.resource_driver.driver, "script");
  EXPECT_EQ(c.resource_driver.scripts_workspace, "./scripts_workspace");
  EXPECT_TRUE(c.resource_driver.async_messaging_enabled);
  EXPECT_EQ(c.driver_files.max_entries, 10000u);
  EXPECT_EQ(c.driver_files.max_total_size, 256 * MiB);
  EXPECT_EQ(c.driver_files.max_entry_size, 64 * MiB);
  EXPECT_EQ(c.driver_files.max_compression_ratio, 100u);
  EXPECT_EQ(c.driver_files.max_path_length, 1024u);
  EXPECT_EQ(c.driver_files.cache_size, GiB);
  EXPECT_EQ(c.drivers.noop.outcome, "COMPLETE");
  EXPECT_EQ(c.drivers.noop.failure_code, "INTERNAL_ERROR");
  EXPECT_EQ(c.drivers.noop.polls_in_progress, 0u);
  EXPECT_EQ(c.drivers.noop.latency, milliseconds(0));
  EXPECT_TRUE(c.drivers.noop.find_found);
  EXPECT_TRUE(c.bootstrap.resource_driver.api_enabled);
  EXPECT_TRUE(c.bootstrap.management.api_enabled);
  EXPECT_TRUE(c.bootstrap.metrics.enabled);
  EXPECT_TRUE(c.bootstrap.openapi.enabled);
  EXPECT_EQ(c.api.swagger_ui_dir, "");
  EXPECT_EQ(c.logging.level, "info");
  EXPECT_EQ(c.logging.type, "flat");
  EXPECT_EQ(c.config_file, std::nullopt);
}

TEST_F(HostConfigFile, IgnitionStyleFileAndEnvironment) {
  const auto file = write(R"(application:
  port: 0
resource_driver:
  scripts_workspace: /var/lib/flint/ws
  async_messaging_enabled: false
http:
  read_timeout: 5s
  max_body_size: 1MiB
drivers:
  noop:
    outcome: failed
    failure_code: insufficient_capacity
    polls_in_progress: 3
    latency: 20ms
)");
  const auto c = load_host_config(file, {{"FLINT_APPLICATION_IO_THREADS", "4"},
                                         {"LOG_LEVEL", "WARNING"},
                                         {"LOG_TYPE", "logstash"},
                                         {"FLINT_DRIVER_FILES_CACHE_SIZE", "2GiB"}});
  EXPECT_EQ(c.application.port, 0);
  EXPECT_EQ(c.application.io_threads, 4u);
  EXPECT_EQ(c.resource_driver.scripts_workspace, "/var/lib/flint/ws");
  EXPECT_FALSE(c.resource_driver.async_messaging_enabled);
  EXPECT_EQ(c.http.read_timeout, milliseconds(5000));
  EXPECT_EQ(c.http.max_body_size, MiB);
  EXPECT_EQ(c.drivers.noop.outcome, "FAILED");
  EXPECT_EQ(c.drivers.noop.failure_code, "INSUFFICIENT_CAPACITY");
  EXPECT_EQ(c.drivers.noop.polls_in_progress, 3u);
  EXPECT_EQ(c.drivers.noop.latency, milliseconds(20));
  EXPECT_EQ(c.logging.level, "warn");
  EXPECT_EQ(c.logging.type, "logstash");
  EXPECT_EQ(c.driver_files.cache_size, 2 * GiB);
  EXPECT_EQ(c.config_file, file);
}

TEST_F(HostConfigFile, FlintConfigVariableNamesTheFile) {
  const auto file = write("application: {port: 9999}\n");
  EXPECT_EQ(load_host_config(std::nullopt, {{"FLINT_CONFIG", file.string()}}).application.port,
            9999);
}

TEST(HostConfig, ErrorsAreAllReported) {
  try {
    load_host_config(std::nullopt, {{"FLINT_APPLICATION_PORT", "65536"},
                                    {"FLINT_APPLICATION_IO_THREADS", "0"},
                                    {"FLINT_DRIVERS_ON_LOAD_ERROR", "ignore"},
                                    {"FLINT_HTTP_READ_TIMEOUT", "0"},
                                    {"FLINT_APPLICATION_PROT", "1"}});
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_THAT(
        e.errors(),
        ElementsAre(
            "application.io_threads: 0 is out of range: expected an integer between 1 and 256 "
            "(env FLINT_APPLICATION_IO_THREADS)",
            "application.port: 65536 is out of range: expected an integer between 0 and "
            "65535 (env FLINT_APPLICATION_PORT)",
            "unknown environment variable FLINT_APPLICATION_PROT (every FLINT_* variable "
            "must name a configuration key); did you mean FLINT_APPLICATION_PORT?",
            R"(drivers.on_load_error: expected one of: fail, skip, found "ignore" (env FLINT_DRIVERS_ON_LOAD_ERROR))",
            HasSubstr("http.read_timeout: 0ms is out of range")));
  }
}

// The "did you mean" hint compares an unknown key with every key and section
// of the schema; a key as long as the file may be (1 MiB) must not make that
// a quadratic hang.
TEST(HostConfig, HugeUnknownKeyIsReportedAtOnce) {
  const std::string key(512 * 1024, 'x');
  const auto start = std::chrono::steady_clock::now();
  const auto errors =
      errors_of([&] { host_config_schema().load_text("? " + key + "\n: 1\n", {}, "flint.yaml"); });
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_THAT(errors, ElementsAre("unknown key '" + std::string(120, 'x') +
                                  "...' (file flint.yaml, line 1)"));
  EXPECT_LT(elapsed, std::chrono::seconds(2));
}

TEST(HostConfig, KafkaAddressesTopicsAndTimeoutsAreCheckedBeforeLibrdkafkaSeesThem) {
  EXPECT_THAT(
      errors_of([] {
        load_host_config(std::nullopt,
                         {{"FLINT_MESSAGING_CONNECTION_ADDRESS", "127.0.0.1:65537"},
                          {"FLINT_MESSAGING_TOPICS_LIFECYCLE_EXECUTION_EVENTS_NAME", "bad topic"},
                          {"FLINT_MESSAGING_DELIVERY_TIMEOUT", "1000h"},
                          {"FLINT_CLUSTER_SESSION_TIMEOUT", "2h"}});
      }),
      ::testing::UnorderedElementsAre(
          HasSubstr("messaging.connection_address: \"127.0.0.1:65537\": the port must be"),
          HasSubstr("messaging.topics.lifecycle_execution_events.name: a Kafka topic name is"),
          HasSubstr("messaging.delivery_timeout: 1000h is out of range"),
          HasSubstr("cluster.session_timeout: 2h is out of range")));
}

TEST_F(HostConfigFile, IgnitionJobQueueTopicIsAcceptedAndChecked) {
  // Ignition drivers configure their job queue's topic; Flint has none, but
  // such a configuration must still load, and a typo in it is still an error.
  const auto c = load_host_config(write("messaging:\n"
                                        "  topics:\n"
                                        "    job_queue:\n"
                                        "      name: ald_job_queue\n"
                                        "      auto_create: true\n"
                                        "      num_partitions: 1\n"
                                        "      config: {retention.ms: 60000}\n"),
                                  {});
  EXPECT_EQ(c.messaging.topics.job_queue.name, "ald_job_queue");
  EXPECT_EQ(c.messaging.topics.job_queue.config.at("retention.ms"), "60000");
  EXPECT_THAT(errors_of([&] {
                load_host_config(write("messaging:\n"
                                       "  topics:\n"
                                       "    job_queue:\n"
                                       "      partitions: 1\n"),
                                 {});
              }),
              ElementsAre(HasSubstr("unknown key 'messaging.topics.job_queue.partitions'")));
}

TEST_F(HostConfigFile, TopicCreationSettingsAreCheckedAtLoad) {
  // Flint creates these topics only when one is missing, long after start.
  EXPECT_THAT(errors_of([&] {
                load_host_config(write("messaging:\n"
                                       "  topics:\n"
                                       "    execution_state:\n"
                                       "      num_partitions: 3000000000\n"
                                       "      config: {cleanup.policy: delete}\n"
                                       "    lifecycle_execution_events:\n"
                                       "      replication_factor: 0\n"
                                       "      config: {retention.ms: ''}\n"),
                                 {});
              }),
              ::testing::UnorderedElementsAre(
                  HasSubstr("messaging.topics.execution_state.num_partitions: 3000000000 is out "
                            "of range"),
                  HasSubstr("messaging.topics.execution_state.config.cleanup.policy: this topic "
                            "must be compacted"),
                  HasSubstr("messaging.topics.lifecycle_execution_events.replication_factor: 0 "
                            "is out of range"),
                  HasSubstr("messaging.topics.lifecycle_execution_events.config.retention.ms: "
                            "expected a value")));
}

TEST(HostConfig, ThreadCountsHaveUpperBounds) {
  EXPECT_THAT(errors_of([] {
                load_host_config(std::nullopt, {{"FLINT_APPLICATION_IO_THREADS", "100000"},
                                                {"FLINT_DRIVER_CALLS_THREADS", "1025"}});
              }),
              ElementsAre("application.io_threads: 100000 is out of range: expected an integer "
                          "between 1 and 256 (env FLINT_APPLICATION_IO_THREADS)",
                          "driver_calls.threads: 1025 is out of range: expected an integer "
                          "between 1 and 1024 (env FLINT_DRIVER_CALLS_THREADS)"));
  const auto c = load_host_config(std::nullopt, {{"FLINT_APPLICATION_IO_THREADS", "256"},
                                                 {"FLINT_DRIVER_CALLS_THREADS", "1024"}});
  EXPECT_EQ(c.application.io_threads, 256u);
  EXPECT_EQ(c.driver_calls.threads, 1024u);
}

TEST(HostConfig, DedicatedThreadsAreCountsPerDriver) {
  EXPECT_TRUE(load_host_config(std::nullopt, {}).driver_calls.dedicated_threads.empty());
  const auto c = load_host_config(
      std::nullopt, {{"FLINT_DRIVER_CALLS_DEDICATED_THREADS", "openstack=4,netapp=1024"}});
  EXPECT_EQ(dedicated_thread_counts(c),
            (std::map<std::string, std::size_t, std::less<>>{{"netapp", 1024}, {"openstack", 4}}));
  EXPECT_THAT(errors_of([] {
                load_host_config(std::nullopt, {{"FLINT_DRIVER_CALLS_DEDICATED_THREADS",
                                                 "a=0,b=1025,c=two,d=-1,e=4"}});
              }),
              ElementsAre(HasSubstr("driver_calls.dedicated_threads.a: \"0\" is not a number of "
                                    "threads from 1 to 1024"),
                          HasSubstr("driver_calls.dedicated_threads.b: \"1025\""),
                          HasSubstr("driver_calls.dedicated_threads.c: \"two\""),
                          HasSubstr("driver_calls.dedicated_threads.d: \"-1\"")));
}

TEST(HostConfig, ClusterKeyVariableIsAcceptedAndNeverShown) {
  const std::string key(64, 'a');
  const Environment env{{"FLINT_CLUSTER_KEY", key}, {"FLINT_CLUSTER_ENABLED", "false"}};
  EXPECT_NO_THROW(load_host_config(std::nullopt, env));
  const auto yaml = effective_yaml(std::nullopt, env);
  EXPECT_THAT(yaml, HasSubstr("# FLINT_CLUSTER_KEY is set (value not shown)\n"));
  EXPECT_THAT(yaml, Not(HasSubstr(key)));
  // Empty means unset, as the application reads it.
  EXPECT_THAT(effective_yaml(std::nullopt, {{"FLINT_CLUSTER_KEY", ""}}),
              Not(HasSubstr("FLINT_CLUSTER_KEY")));
}

TEST(HostConfig, MalformedClusterKeyIsAConfigErrorWithoutTheValue) {
  const std::string bad = "0123456789abcdefXYZ";
  EXPECT_THAT(errors_of([&] {
                load_host_config(std::nullopt,
                                 {{"FLINT_CLUSTER_KEY", bad}, {"FLINT_APPLICATION_PORT", "x"}});
              }),
              ElementsAre(HasSubstr("application.port"),
                          "FLINT_CLUSTER_KEY: expected 64 hex characters (a 256-bit cluster key); "
                          "the value is not shown"));
  // A typo of it is still caught, with a hint.
  EXPECT_THAT(
      errors_of([&] {
        load_host_config(std::nullopt, {{"FLINT_CLUSTER_KYE", bad}});
      }),
      ElementsAre(AllOf(HasSubstr("unknown environment variable FLINT_CLUSTER_KYE"),
                        HasSubstr("did you mean FLINT_CLUSTER_KEY?"), Not(HasSubstr(bad)))));
}

TEST_F(HostConfigFile, ValuesOfStringMapsAreNeverEchoedInErrors) {
  const auto file = write(
      "messaging: {config: \"sasl.password=hunter2\"}\n"
      "drivers: {settings: acme.api_key=SUPERSECRET}\n");
  const auto errors = errors_of([&] {
    load_host_config(file, {{"FLINT_MESSAGING_CONFIG", "sasl.password=hunter2,broken"}});
  });
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0],
            "messaging.config: expected a mapping of names to strings, found a string (not "
            "shown: it may hold secrets) (file " +
                file.string() + ", line 1)");
  EXPECT_THAT(errors[1], HasSubstr("drivers.settings: expected a mapping of names to strings, "
                                   "found a string (not shown"));
  EXPECT_EQ(errors[2],
            "messaging.config: expected a mapping of names to strings (k=v,k2=v2 or {k: v}), "
            "found entry 2 of 2 without '=' (env FLINT_MESSAGING_CONFIG)");
  for (const auto& error : errors) {
    EXPECT_THAT(error, Not(HasSubstr("hunter2")));
    EXPECT_THAT(error, Not(HasSubstr("SUPERSECRET")));
  }
}

TEST_F(HostConfigFile, KeyWrittenTwiceInAStringMapIsAnError) {
  const auto file = write(
      "messaging:\n"
      "  config:\n"
      "    sasl.password: a1\n"
      "    sasl.password: b2\n"
      "drivers: {settings: {acme.x: 1, acme.x: 2, acme.y: 3, acme.y: 4}}\n");
  EXPECT_THAT(
      errors_of([&] {
        load_host_config(file, {{"FLINT_DRIVERS_SETTINGS", "k=1,k=2"},
                                {"FLINT_RESOURCE_DRIVER_ROUTES_LOCATION_TYPE", "{k: a, k: b}"}});
      }),
      ElementsAre(
          "messaging.config: duplicate key 'sasl.password' (file " + file.string() + ", line 4)",
          "drivers.settings: duplicate key 'acme.x' (file " + file.string() + ", line 5)",
          "drivers.settings: duplicate key 'acme.y' (file " + file.string() + ", line 5)",
          "drivers.settings: duplicate key 'k' (env FLINT_DRIVERS_SETTINGS)",
          "resource_driver.routes.location_type: duplicate key 'k' (env "
          "FLINT_RESOURCE_DRIVER_ROUTES_LOCATION_TYPE)"));
}

TEST_F(HostConfigFile, MessagingConfigIsCheckedByLibrdkafkaWhenLoading) {
  const auto file = write(
      "messaging:\n"
      "  connection_address: localhost:9092\n"
      "  config:\n"
      "    bogus.prop: 1\n"
      "    security.protocol: sasl_ssl\n"
      "    sasl.password: hunter2\n"
      "    linger.ms: soon\n");
  EXPECT_THAT(errors_of([&] {
                load_host_config(file, {{"FLINT_MESSAGING_CONFIG", "{acks: all, also.bogus: x}"}});
              }),
              ElementsAre("messaging.config.bogus.prop: librdkafka has no such property (file " +
                              file.string() + ", line 4)",
                          AllOf(StartsWith("messaging.config.linger.ms: librdkafka refuses it: "),
                                EndsWith("(file " + file.string() + ", line 7)")),
                          "messaging.config.also.bogus: librdkafka has no such property (env "
                          "FLINT_MESSAGING_CONFIG)"));
  // Valid settings load as given.
  const auto c = load_host_config(std::nullopt, {{"FLINT_MESSAGING_CONFIG", "acks=all"}});
  EXPECT_EQ(c.messaging.config, (StringMap{{"acks", "all"}}));
}

TEST(HostConfig, CrossChecksOnDriverFilesLimits) {
  try {
    load_host_config(std::nullopt, {{"FLINT_DRIVER_FILES_MAX_ENTRY_SIZE", "300MiB"},
                                    {"FLINT_DRIVER_FILES_CACHE_SIZE", "100MiB"}});
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.errors(),
                ElementsAre("driver_files.max_entry_size (300MiB) must not exceed "
                            "driver_files.max_total_size (256MiB)",
                            HasSubstr("driver_files.cache_size (100MiB) must be at least "
                                      "driver_files.max_total_size (256MiB)")));
  }
}

TEST(HostConfig, EffectiveYamlNamesEachSource) {
  const auto yaml =
      effective_yaml(std::nullopt, {{"FLINT_APPLICATION_PORT", "9000"}, {"LOG_TYPE", "logstash"}});
  EXPECT_THAT(yaml, HasSubstr("# Effective configuration (no configuration file)\n"
                              "application:\n"
                              "  host: 127.0.0.1  # default\n"
                              "  port: 9000  # env FLINT_APPLICATION_PORT\n"));
  EXPECT_THAT(yaml, HasSubstr("  max_body_size: 64MiB  # default\n"));
  EXPECT_THAT(yaml, HasSubstr("\n  noop:\n    outcome: COMPLETE  # default\n"));
  EXPECT_THAT(yaml, HasSubstr("  swagger_ui_dir: \"\"  # default\n"));
  EXPECT_THAT(yaml, HasSubstr("  type: logstash  # env LOG_TYPE\n"));
  // What it prints loads back to the same configuration.
  const auto reloaded = host_config_schema().load_text(yaml, {});
  EXPECT_EQ(reloaded.get<std::int64_t>("application.port"), 9000);
  EXPECT_EQ(reloaded.get<std::string>("logging.type"), "logstash");
}

TEST_F(HostConfigFile, AnEmptyDriverFolderIsRefusedNamingItsPlace) {
  const auto file = write("drivers:\n  dirs:\n    - /opt/flint/drivers\n    - \"\"\n");
  EXPECT_THAT(errors_of([&] { load_host_config(file, {}); }),
              ElementsAre("drivers.dirs[1]: empty (file " + file.string() + ", line 4)"));
}

TEST_F(HostConfigFile, PublicPathsMustBeExactPaths) {
  // Matching is exact: `metrics` or `/api/*` would never match and leave the paths protected.
  const auto file = write(
      "http:\n"
      "  auth:\n"
      "    public_paths:\n"
      "      - /management/health\n"
      "      - metrics\n"
      "      - /api/*\n"
      "      - /metrics?format=text\n"
      "      - /x#y\n"
      "      - \"\"\n");
  const std::string rule =
      ": a public path is matched exactly against the request path (no wildcards, no query)";
  const auto at = [&](int line) {
    return " (file " + file.string() + ", line " + std::to_string(line) + ")";
  };
  EXPECT_THAT(
      errors_of([&] {
        load_host_config(file, {{"FLINT_HTTP_AUTH_PUBLIC_PATHS", "/metrics,api/driver"}});
      }),
      ElementsAre("http.auth.public_paths[1]: \"metrics\" does not start with '/'" + rule + at(5),
                  "http.auth.public_paths[2]: \"/api/*\" contains '*', '?' or '#'" + rule + at(6),
                  "http.auth.public_paths[3]: \"/metrics?format=text\" contains '*', '?' or '#'" +
                      rule + at(7),
                  "http.auth.public_paths[4]: \"/x#y\" contains '*', '?' or '#'" + rule + at(8),
                  "http.auth.public_paths[5]: \"\" does not start with '/'" + rule + at(9),
                  "http.auth.public_paths[1]: \"api/driver\" does not start with '/'" + rule +
                      " (env FLINT_HTTP_AUTH_PUBLIC_PATHS)"));
  const auto config = load_host_config(
      std::nullopt, {{"FLINT_HTTP_AUTH_PUBLIC_PATHS", "/management/health,/metrics"}});
  EXPECT_THAT(config.http.auth.public_paths, ElementsAre("/management/health", "/metrics"));
  EXPECT_TRUE(load_host_config(std::nullopt, {{"FLINT_HTTP_AUTH_PUBLIC_PATHS", ""}})
                  .http.auth.public_paths.empty());
}

TEST(HostConfig, TheNetnsPrefixIsCheckedWithTheConfiguration) {
  // Not at the driver's start, after every other value passed (exit 1, alone).
  for (const auto& [prefix, why] : std::vector<std::pair<std::string, std::string>>{
           {"toolong7", "must be 1 to 6 characters"},
           {"9ab", "must start with a lower-case letter"},
           {"a-b", "may hold only a-z and 0-9"}}) {
    EXPECT_THAT(errors_of([&] {
                  load_host_config(std::nullopt, {{"FLINT_DRIVERS_NETNS_PREFIX", prefix}});
                }),
                ElementsAre("drivers.netns.prefix: \"" + prefix + "\" " + why +
                            " (env FLINT_DRIVERS_NETNS_PREFIX)"));
  }
  EXPECT_EQ(
      load_host_config(std::nullopt, {{"FLINT_DRIVERS_NETNS_PREFIX", "t0"}}).drivers.netns.prefix,
      "t0");
}

TEST(HostConfig, AnEmptyConfigOptionIsAnError) {
  // `--config ""` must not silently mean the defaults.
  for (const auto& load : std::vector<std::function<void()>>{
           [] { load_host_config(std::filesystem::path(), {}); },
           [] {
             effective_yaml(std::filesystem::path(), {{"FLINT_CONFIG", "/nonexistent"}});
           }}) {
    EXPECT_THAT(errors_of(load), ElementsAre("--config: empty path (leave --config out to use "
                                             "FLINT_CONFIG or the defaults)"));
  }
  // An empty FLINT_CONFIG means no file (docs/configuration.md).
  EXPECT_EQ(load_host_config(std::nullopt, {{"FLINT_CONFIG", ""}}).config_file, std::nullopt);
}

TEST_F(HostConfigFile, DirectoriesThatExistAsSomethingElseNameTheKey) {
  // Else the start fails in whichever component touches it first, naming neither key nor file.
  // store.data_dir names the configuration file itself: a regular file.
  const auto config_file = write("");
  const auto regular = config_file.string();
  write("store:\n  data_dir: " + regular + "\n");
  EXPECT_THAT(
      errors_of([&] {
        load_host_config(config_file,
                         {{"FLINT_RESOURCE_DRIVER_SCRIPTS_WORKSPACE", regular + "/sub"},
                          {"FLINT_DRIVERS_NETNS_STATE_DIR", "/dev/null"}});
      }),
      ElementsAre("store.data_dir: '" + regular +
                      "' cannot be used: it exists and is not a directory (file " + regular +
                      ", line 2)",
                  "resource_driver.scripts_workspace: '" + regular +
                      "/sub' cannot be used: a component of the path is not a directory (env "
                      "FLINT_RESOURCE_DRIVER_SCRIPTS_WORKSPACE)",
                  "drivers.netns.state_dir: '/dev/null' cannot be used: it exists and is not a "
                  "directory (env FLINT_DRIVERS_NETNS_STATE_DIR)"));
}

TEST(HostConfig, DirectoriesThatExistOrNotYetAreFine) {
  const auto tmp = std::filesystem::temp_directory_path();
  const auto config = load_host_config(
      std::nullopt, {{"FLINT_STORE_DATA_DIR", tmp.string()},
                     {"FLINT_RESOURCE_DRIVER_SCRIPTS_WORKSPACE", (tmp / "flint-nope/x").string()},
                     {"FLINT_DRIVERS_SCRIPT_EXECUTIONS_DIR", ""}});
  EXPECT_EQ(config.store.data_dir, tmp);
}

TEST(HostConfig, EveryExampleOfASizeOrDurationIsAccepted) {
  // "expected a size such as 512 ... of at least 1KiB" would cite what it refuses.
  for (const auto& option : host_config_schema().options()) {
    const auto& spec = option.spec;
    if (spec.type != OptionType::size && spec.type != OptionType::duration) continue;
    const auto text = spec.expectation();
    const auto examples = text.substr(text.find("such as ") + 8);
    int cited = 0;
    for (std::size_t start = 0; start < examples.size();) {
      const auto end = examples.find_first_of(", ", start);
      const auto word = examples.substr(start, end - start);
      start = end == std::string::npos ? examples.size() : end + 1;
      if (word.empty() || word == "or") continue;
      if (word.front() < '0' || word.front() > '9') break;  // past the examples
      ++cited;
      auto value = spec.parse(word);
      ASSERT_TRUE(std::holds_alternative<ConfigValue>(value)) << option.key << ": " << word;
      EXPECT_EQ(spec.check(std::get<ConfigValue>(value)), std::nullopt)
          << option.key << ": " << word;
    }
    EXPECT_GT(cited, 0) << option.key << ": " << text;
  }
}

TEST(HostConfig, DocsListEveryKeyAsTheSchemaDoes) {
  std::ifstream in(std::filesystem::path(FLINT_SOURCE_DIR) / "docs" / "configuration.md");
  ASSERT_TRUE(in) << "docs/configuration.md is missing";
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_THAT(text.str(), HasSubstr(host_config_schema().reference_markdown()))
      << "docs/configuration.md is out of date; paste this table into it:\n"
      << host_config_schema().reference_markdown();
}

}  // namespace
}  // namespace flint::config
