#include "metrics/metrics_registry.hpp"

#include <iterator>
#include <string>

#include <prometheus/gauge.h>
#include <prometheus/text_serializer.h>

#include <flint/sdk/version.hpp>

namespace flint::metrics {

MetricsRegistry::MetricsRegistry() : registry_(std::make_shared<prometheus::Registry>()) {
  // The usual "info" metric: constant 1, the facts in its labels, so that a
  // query can join them to any series (which version runs where).
  prometheus::BuildGauge()
      .Name("flint_build_info")
      .Help("Flint's version and driver SDK ABI, as labels; always 1")
      .Register(*registry_)
      .Add({{"version", FLINT_SDK_VERSION_STRING},
            {"sdk_abi", std::to_string(FLINT_SDK_ABI_VERSION)}})
      .Set(1);
}

std::string MetricsRegistry::render() const {
  auto families = registry_->Collect();
  const auto append = [&families](std::vector<prometheus::MetricFamily> more) {
    families.insert(families.end(), std::make_move_iterator(more.begin()),
                    std::make_move_iterator(more.end()));
  };
  append(process_.Collect());
  for (const auto& collector : collectors_) append(collector());
  return prometheus::TextSerializer().Serialize(families);
}

const std::vector<double>& latency_buckets() {
  static const std::vector<double> buckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                           0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                           1,      2.5,     5,      10,    30};
  return buckets;
}

}  // namespace flint::metrics
