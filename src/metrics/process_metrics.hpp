#pragma once

/// @file
/// The process metrics every Prometheus client library exports, so that the
/// usual dashboards and alerts (memory, CPU, descriptors, restarts) work on
/// Flint as they do on any other service.

#include <filesystem>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace flint::metrics {

/// Reads the process's figures from procfs at each scrape:
/// `process_cpu_seconds_total`, `process_resident_memory_bytes`,
/// `process_virtual_memory_bytes`, `process_virtual_memory_max_bytes`
/// (`RLIMIT_AS`, -1 when unlimited), `process_open_fds`, `process_max_fds`
/// and `process_start_time_seconds`. A figure that cannot be read is left
/// out, never reported as 0. Thread-safe.
class ProcessMetrics : public prometheus::Collectable {
 public:
  /// `proc` is the process's procfs directory and `stat` the system's
  /// (replaceable for tests).
  explicit ProcessMetrics(std::filesystem::path proc = "/proc/self",
                          std::filesystem::path stat = "/proc/stat");

  /// The families, read now.
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::filesystem::path proc_;
  std::filesystem::path stat_;
};

}  // namespace flint::metrics
