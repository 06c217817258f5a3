#include "metrics/metrics_registry.hpp"

#include <prometheus/text_serializer.h>

namespace flint::metrics {

std::string MetricsRegistry::render() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

const std::vector<double>& latency_buckets() {
  static const std::vector<double> buckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                           0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                           1,      2.5,     5,      10,    30};
  return buckets;
}

}  // namespace flint::metrics
