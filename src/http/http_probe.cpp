#include "http/http_probe.hpp"

#include <algorithm>
#include <string>

#include <fmt/format.h>

#include "metrics/metrics_registry.hpp"

namespace flint::http {

HttpProbe::HttpProbe(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("flint_http_requests_total")
                    .Help("HTTP requests answered, by route, method and status")
                    .Register(registry)),
      latency_(prometheus::BuildHistogram()
                   .Name("flint_http_request_duration_seconds")
                   .Help("Time from a request fully read to its response ready to send, by route")
                   .Register(registry)),
      in_flight_(&prometheus::BuildGauge()
                      .Name("flint_http_requests_in_flight")
                      .Help("HTTP requests being handled")
                      .Register(registry)
                      .Add({})),
      connections_(&prometheus::BuildGauge()
                        .Name("flint_http_connections_open")
                        .Help("Open client connections")
                        .Register(registry)
                        .Add({})),
      tls_handshake_failures_(&prometheus::BuildCounter()
                                   .Name("flint_http_tls_handshake_failures_total")
                                   .Help("Connections closed because their TLS handshake failed")
                                   .Register(registry)
                                   .Add({})) {}

void HttpProbe::record(std::string_view route, std::string_view method, unsigned status,
                       std::chrono::steady_clock::duration latency) {
  const Series& s = series_.get(
      [&] {
        return Series{&requests_.Add({{"route", std::string(route)},
                                      {"method", std::string(method)},
                                      {"status", std::to_string(status)}}),
                      &latency_.Add({{"route", std::string(route)}}, metrics::latency_buckets())};
      },
      route, method, status);
  s.requests->Increment();
  s.latency->Observe(std::chrono::duration<double>(latency).count());
}

}  // namespace flint::http
