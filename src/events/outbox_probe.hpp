#pragma once

/// @file
/// Metrics of the outbox relay: backlog, deliveries, failures, latency.

#include <chrono>
#include <cstdint>
#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace flint::events {

/// The outbox relay's metrics probe. Thread-safe.
class OutboxProbe {
 public:
  /// Registers the families on `registry` (which must outlive the probe).
  explicit OutboxProbe(prometheus::Registry& registry);

  /// Sets the number of events waiting in the outbox.
  void backlog(std::int64_t events) { backlog_->Set(static_cast<double>(events)); }
  /// Makes `publisher`'s series, at 0: a failure counter that appears only
  /// with its first failure is missed by `increase()` and `rate()`.
  void add_publisher(std::string_view publisher);
  /// Counts `events` delivered to `publisher`.
  void delivered(std::string_view publisher, std::size_t events);
  /// Counts a failed delivery of a batch to `publisher`.
  void failed(std::string_view publisher);
  /// Records the time from an event's creation to its delivery to every
  /// publisher.
  void latency(std::chrono::milliseconds latency);

 private:
  prometheus::Gauge* backlog_;
  prometheus::Family<prometheus::Counter>& delivered_;
  prometheus::Family<prometheus::Counter>& failures_;
  prometheus::Histogram* latency_;
};

}  // namespace flint::events
