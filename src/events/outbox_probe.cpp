#include "events/outbox_probe.hpp"

#include <string>

#include "metrics/metrics_registry.hpp"

namespace flint::events {

OutboxProbe::OutboxProbe(prometheus::Registry& registry)
    : backlog_(&prometheus::BuildGauge()
                    .Name("flint_outbox_backlog")
                    .Help("Events waiting in the outbox for delivery")
                    .Register(registry)
                    .Add({})),
      delivered_(prometheus::BuildCounter()
                     .Name("flint_events_delivered_total")
                     .Help("Events delivered, by publisher")
                     .Register(registry)),
      failures_(prometheus::BuildCounter()
                    .Name("flint_event_delivery_failures_total")
                    .Help("Failed deliveries of a batch of events, by publisher")
                    .Register(registry)),
      latency_(&prometheus::BuildHistogram()
                    .Name("flint_event_delivery_latency_seconds")
                    .Help("Time from an event's creation to its delivery to every publisher")
                    .Register(registry)
                    .Add({}, metrics::latency_buckets())) {}

void OutboxProbe::add_publisher(std::string_view publisher) {
  delivered_.Add({{"publisher", std::string(publisher)}});
  failures_.Add({{"publisher", std::string(publisher)}});
}

void OutboxProbe::delivered(std::string_view publisher, std::size_t events) {
  delivered_.Add({{"publisher", std::string(publisher)}}).Increment(static_cast<double>(events));
}

void OutboxProbe::failed(std::string_view publisher) {
  failures_.Add({{"publisher", std::string(publisher)}}).Increment();
}

void OutboxProbe::latency(std::chrono::milliseconds latency) {
  latency_->Observe(std::chrono::duration<double>(latency).count());
}

}  // namespace flint::events
