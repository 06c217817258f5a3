#pragma once

/// @file
/// The process's Prometheus registry. Each module registers its own probe
/// (families and metrics) on it; `/metrics` renders it.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/registry.h>

#include "metrics/process_metrics.hpp"

namespace flint::metrics {

/// Owns the Prometheus registry, with `flint_build_info` and the standard
/// process metrics (see `ProcessMetrics`). Thread-safe (prometheus-cpp
/// metrics are).
class MetricsRegistry {
 public:
  MetricsRegistry();

  /// The registry, for modules to add their families to.
  prometheus::Registry& registry() noexcept { return *registry_; }

  /// Families read at each render, from state another module keeps (its own
  /// figures, not counters it updates).
  using Collector = std::function<std::vector<prometheus::MetricFamily>()>;
  /// Adds `collector`, which must stay valid while the registry renders. Not
  /// thread-safe: add collectors before serving.
  void add_collector(Collector collector) { collectors_.push_back(std::move(collector)); }

  /// Every metric in Prometheus text exposition format 0.0.4.
  std::string render() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  ProcessMetrics process_;
  std::vector<Collector> collectors_;
};

/// Histogram buckets for latencies in seconds, from 100 µs to 30 s.
const std::vector<double>& latency_buckets();

}  // namespace flint::metrics
