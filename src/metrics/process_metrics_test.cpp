#include "metrics/process_metrics.hpp"

#include <chrono>
#include <fstream>
#include <map>
#include <string>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <flint/sdk/version.hpp>

#include "metrics/metrics_registry.hpp"

namespace flint::metrics {
namespace {

std::map<std::string, double> values(const ProcessMetrics& metrics) {
  std::map<std::string, double> found;
  for (const auto& family : metrics.Collect()) {
    EXPECT_EQ(family.metric.size(), 1u) << family.name;
    const auto& metric = family.metric.at(0);
    found[family.name] =
        family.type == prometheus::MetricType::Counter ? metric.counter.value : metric.gauge.value;
  }
  return found;
}

TEST(ProcessMetricsTest, ReportsThisProcessAsOtherClientLibrariesDo) {
  auto found = values(ProcessMetrics());
  for (const char* name : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                           "process_virtual_memory_bytes", "process_virtual_memory_max_bytes",
                           "process_open_fds", "process_max_fds", "process_start_time_seconds"}) {
    EXPECT_TRUE(found.contains(name)) << name;
  }
  EXPECT_GE(found["process_cpu_seconds_total"], 0);
  EXPECT_GT(found["process_resident_memory_bytes"], 1 << 20);
  EXPECT_GE(found["process_virtual_memory_bytes"], found["process_resident_memory_bytes"]);
  rlimit files{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &files), 0);
  EXPECT_EQ(found["process_max_fds"], static_cast<double>(files.rlim_cur));
  // Started moments ago (a test binary), by the wall clock.
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LE(found["process_start_time_seconds"], now + 1);
  EXPECT_GT(found["process_start_time_seconds"], now - 3600);

  // Each descriptor opened is counted.
  const double before = found["process_open_fds"];
  EXPECT_GE(before, 3);
  int opened[5];
  for (int& fd : opened) fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  EXPECT_EQ(values(ProcessMetrics())["process_open_fds"], before + 5);
  for (int fd : opened) ::close(fd);
}

TEST(ProcessMetricsTest, ReadsACommandNameWithSpacesAndParentheses) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("flint-process-metrics-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "fd");
  {
    // utime 250 and stime 150 ticks, starttime 1000 ticks after boot,
    // vsize 8 MiB, rss 300 pages.
    std::ofstream(dir / "stat") << "42 (a (b) c) S 1 42 42 0 -1 4194560 10 0 0 0 250 150 0 0 20 0 "
                                   "3 0 1000 8388608 300 18446744073709551615\n";
    std::ofstream(dir / "system-stat") << "cpu  1 2 3\nbtime 1700000000\nprocesses 9\n";
    std::ofstream(dir / "fd" / "0");
    std::ofstream(dir / "fd" / "1");
  }
  auto found = values(ProcessMetrics(dir, dir / "system-stat"));
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  EXPECT_DOUBLE_EQ(found["process_cpu_seconds_total"], 400 / ticks);
  EXPECT_EQ(found["process_virtual_memory_bytes"], 8388608);
  EXPECT_EQ(found["process_resident_memory_bytes"], 300.0 * ::sysconf(_SC_PAGESIZE));
  EXPECT_DOUBLE_EQ(found["process_start_time_seconds"], 1700000000 + 1000 / ticks);
  EXPECT_EQ(found["process_open_fds"], 2);

  // What cannot be read is left out, not reported as 0.
  std::filesystem::remove(dir / "stat");
  std::filesystem::remove_all(dir / "fd");
  found = values(ProcessMetrics(dir, dir / "system-stat"));
  EXPECT_FALSE(found.contains("process_cpu_seconds_total"));
  EXPECT_FALSE(found.contains("process_resident_memory_bytes"));
  EXPECT_FALSE(found.contains("process_start_time_seconds"));
  EXPECT_FALSE(found.contains("process_open_fds"));
  EXPECT_TRUE(found.contains("process_max_fds"));
  std::filesystem::remove_all(dir);
}

TEST(MetricsRegistryTest, RendersWhatCollectorsReadAtEachRender) {
  MetricsRegistry registry;
  double value = 1;
  registry.add_collector([&value] {
    prometheus::ClientMetric metric;
    metric.gauge.value = value;
    return std::vector<prometheus::MetricFamily>{
        {"test_reading", "A figure read at render", prometheus::MetricType::Gauge, {metric}}};
  });
  EXPECT_NE(registry.render().find("\ntest_reading 1\n"), std::string::npos);
  value = 2;
  EXPECT_NE(registry.render().find("\ntest_reading 2\n"), std::string::npos);
}

TEST(MetricsRegistryTest, RendersTheBuildAndTheProcess) {
  const std::string text = MetricsRegistry().render();
  // Labels come out sorted by name.
  EXPECT_NE(text.find("flint_build_info{sdk_abi=\"" + std::to_string(FLINT_SDK_ABI_VERSION) +
                      "\",version=\"" FLINT_SDK_VERSION_STRING "\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE process_cpu_seconds_total counter"), std::string::npos) << text;
  EXPECT_NE(text.find("\nprocess_resident_memory_bytes "), std::string::npos) << text;
}

}  // namespace
}  // namespace flint::metrics
