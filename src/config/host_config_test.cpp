#include "config/host_config.hpp"

#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "config/config_error.hpp"
#include "config/units.hpp"

namespace flint::config {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

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
            "application.io_threads: 0 is out of range: expected an integer >= 1 (env "
            "FLINT_APPLICATION_IO_THREADS)",
            "application.port: 65536 is out of range: expected an integer between 0 and "
            "65535 (env FLINT_APPLICATION_PORT)",
            "unknown environment variable FLINT_APPLICATION_PROT (every FLINT_* variable "
            "must name a configuration key); did you mean FLINT_APPLICATION_PORT?",
            R"(drivers.on_load_error: expected one of: fail, skip, found "ignore" (env FLINT_DRIVERS_ON_LOAD_ERROR))",
            HasSubstr("http.read_timeout: 0ms is out of range")));
  }
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
