#pragma once

/// @file
/// Metrics of the HTTP server: requests by route and status, latency, and
/// in-flight gauges.

#include <chrono>
#include <cstdint>
#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "metrics/series_cache.hpp"

namespace flint::http {

/// The HTTP server's metrics probe. Thread-safe.
class HttpProbe {
 public:
  /// Registers the families on `registry` (which must outlive the probe).
  explicit HttpProbe(prometheus::Registry& registry);

  /// Counts one answered request and its latency.
  void record(std::string_view route, std::string_view method, unsigned status,
              std::chrono::steady_clock::duration latency);

  /// Requests being handled now.
  prometheus::Gauge& in_flight() noexcept { return *in_flight_; }
  /// Open client connections.
  prometheus::Gauge& connections() noexcept { return *connections_; }
  /// Connections closed because their TLS handshake failed (plain HTTP on
  /// the TLS port, an untrusted or missing client certificate, a timeout).
  prometheus::Counter& tls_handshake_failures() noexcept { return *tls_handshake_failures_; }

 private:
  // Label lookups in prometheus-cpp hash label maps under a mutex; a request
  // should not pay that. The series of a (route, method, status) are resolved
  // once and kept: routes come from the router, so the set is small.
  struct Series {
    prometheus::Counter* requests;
    prometheus::Histogram* latency;
  };
  metrics::SeriesCache<Series> series_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Gauge* in_flight_;
  prometheus::Gauge* connections_;
  prometheus::Counter* tls_handshake_failures_;
};

}  // namespace flint::http
