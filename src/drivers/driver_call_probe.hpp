#pragma once

/// @file
/// Metrics of driver calls: latency and outcome per driver and operation,
/// queue depth and busy threads.

#include <chrono>
#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "metrics/series_cache.hpp"

namespace flint::drivers {

/// The driver executor's metrics probe. Thread-safe.
class DriverCallProbe {
 public:
  /// Registers the families on `registry` (which must outlive the probe).
  explicit DriverCallProbe(prometheus::Registry& registry);

  /// Counts a finished call from the caller's view. `outcome` is `ok`, an
  /// error kind name (`temporary`, `driver`...), `timeout` or `rejected`.
  void count(std::string_view driver, std::string_view operation, std::string_view outcome);
  /// Records how long driver code actually ran.
  void observe(std::string_view driver, std::string_view operation,
               std::chrono::steady_clock::duration duration);

  /// Calls waiting for a thread.
  prometheus::Gauge& queued() noexcept { return *queued_; }
  /// Calls running on a thread.
  prometheus::Gauge& running() noexcept { return *running_; }

 private:
  // Resolved once per label set: Family::Add costs more than a driver call.
  metrics::SeriesCache<prometheus::Counter*> call_series_;
  metrics::SeriesCache<prometheus::Histogram*> duration_series_;
  prometheus::Family<prometheus::Counter>& calls_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Gauge* queued_;
  prometheus::Gauge* running_;
};

}  // namespace flint::drivers
