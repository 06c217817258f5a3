#include "drivers/driver_call_probe.hpp"

#include <string>

#include "metrics/metrics_registry.hpp"

namespace flint::drivers {

DriverCallProbe::DriverCallProbe(prometheus::Registry& registry)
    : calls_(prometheus::BuildCounter()
                 .Name("flint_driver_calls_total")
                 .Help("Driver calls by driver, operation and outcome")
                 .Register(registry)),
      duration_(prometheus::BuildHistogram()
                    .Name("flint_driver_call_duration_seconds")
                    .Help("Time driver code ran, by driver and operation")
                    .Register(registry)),
      queued_(&prometheus::BuildGauge()
                   .Name("flint_driver_calls_queued")
                   .Help("Driver calls waiting for a driver thread")
                   .Register(registry)
                   .Add({})),
      running_(&prometheus::BuildGauge()
                    .Name("flint_driver_calls_running")
                    .Help("Driver calls running on a driver thread")
                    .Register(registry)
                    .Add({})) {}

void DriverCallProbe::count(std::string_view driver, std::string_view operation,
                            std::string_view outcome) {
  prometheus::Counter* counter = call_series_.get(
      [&] {
        return &calls_.Add({{"driver", std::string(driver)},
                            {"operation", std::string(operation)},
                            {"outcome", std::string(outcome)}});
      },
      driver, operation, outcome);
  counter->Increment();
}

void DriverCallProbe::observe(std::string_view driver, std::string_view operation,
                              std::chrono::steady_clock::duration duration) {
  prometheus::Histogram* histogram = duration_series_.get(
      [&] {
        return &duration_.Add(
            {{"driver", std::string(driver)}, {"operation", std::string(operation)}},
            metrics::latency_buckets());
      },
      driver, operation);
  histogram->Observe(std::chrono::duration<double>(duration).count());
}

}  // namespace flint::drivers
