#include "metrics/process_metrics.hpp"

#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>

#include <sys/resource.h>
#include <unistd.h>

namespace flint::metrics {
namespace {

prometheus::MetricFamily family(std::string name, std::string help, prometheus::MetricType type,
                                double value) {
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  return {std::move(name), std::move(help), type, {std::move(metric)}};
}

std::optional<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The fields of /proc/<pid>/stat after the command name, which may hold
// spaces and parentheses: field 3 (state) is `fields[0]`.
std::vector<std::string_view> stat_fields(std::string_view stat) {
  std::vector<std::string_view> fields;
  const auto end_of_name = stat.rfind(')');
  if (end_of_name == std::string_view::npos) return fields;
  stat.remove_prefix(end_of_name + 1);
  while (!stat.empty()) {
    const auto start = stat.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    stat.remove_prefix(start);
    const auto end = stat.find_first_of(" \n");
    fields.push_back(stat.substr(0, end));
    if (end == std::string_view::npos) break;
    stat.remove_prefix(end);
  }
  return fields;
}

std::optional<double> number(std::string_view text) {
  unsigned long long value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return static_cast<double>(value);
}

// Seconds since the epoch at which the system booted (`btime` of /proc/stat).
std::optional<double> boot_time(const std::filesystem::path& stat) {
  const auto text = read_file(stat);
  if (!text) return std::nullopt;
  std::istringstream lines(*text);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("btime ")) return number(std::string_view(line).substr(6));
  }
  return std::nullopt;
}

}  // namespace

ProcessMetrics::ProcessMetrics(std::filesystem::path proc, std::filesystem::path stat)
    : proc_(std::move(proc)), stat_(std::move(stat)) {}

std::vector<prometheus::MetricFamily> ProcessMetrics::Collect() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> families;
  if (const auto text = read_file(proc_ / "stat")) {
    // Fields 14-15 (utime, stime) and 22 (starttime) in clock ticks, 23
    // (vsize) in bytes, 24 (rss) in pages: indexes 11, 12, 19, 20, 21 here.
    const auto fields = stat_fields(*text);
    const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const auto field = [&](std::size_t index) {
      return index < fields.size() ? number(fields[index]) : std::nullopt;
    };
    const auto user = field(11);
    const auto system = field(12);
    if (user && system && ticks > 0) {
      families.push_back(family("process_cpu_seconds_total",
                                "Total user and system CPU time spent in seconds.",
                                MetricType::Counter, (*user + *system) / ticks));
    }
    if (const auto vsize = field(20)) {
      families.push_back(family("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                                MetricType::Gauge, *vsize));
    }
    if (const auto rss = field(21)) {
      families.push_back(family("process_resident_memory_bytes", "Resident memory size in bytes.",
                                MetricType::Gauge,
                                *rss * static_cast<double>(::sysconf(_SC_PAGESIZE))));
    }
    const auto started = field(19);
    const auto booted = boot_time(stat_);
    if (started && booted && ticks > 0) {
      families.push_back(family("process_start_time_seconds",
                                "Start time of the process since unix epoch in seconds.",
                                MetricType::Gauge, *booted + *started / ticks));
    }
  }
  std::error_code error;
  double open = 0;
  for (std::filesystem::directory_iterator fds(proc_ / "fd", error), end; !error && fds != end;
       fds.increment(error)) {
    ++open;
  }
  // As in the other client libraries, the count includes the listing's own descriptor.
  if (!error) {
    families.push_back(
        family("process_open_fds", "Number of open file descriptors.", MetricType::Gauge, open));
  }
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    families.push_back(family("process_max_fds", "Maximum number of open file descriptors.",
                              MetricType::Gauge, static_cast<double>(limit.rlim_cur)));
  }
  if (::getrlimit(RLIMIT_AS, &limit) == 0) {
    families.push_back(
        family("process_virtual_memory_max_bytes",
               "Maximum amount of virtual memory available in bytes.", MetricType::Gauge,
               limit.rlim_cur == RLIM_INFINITY ? -1.0 : static_cast<double>(limit.rlim_cur)));
  }
  return families;
}

}  // namespace flint::metrics
