#include "health/health_registry.hpp"

#include <exception>

namespace flint::health {

std::string_view to_string(HealthStatus status) noexcept {
  switch (status) {
    case HealthStatus::ok: return "OK";
    case HealthStatus::degraded: return "DEGRADED";
    case HealthStatus::unhealthy: break;
  }
  return "UNHEALTHY";
}

void HealthRegistry::add(std::string name, Check check) {
  checks_.emplace_back(std::move(name), std::move(check));
}

HealthRegistry::Report HealthRegistry::report() const {
  Report report;
  boost::json::object vitals;
  for (const auto& [name, check] : checks_) {
    Vital vital;
    try {
      vital = check();
    } catch (const std::exception& e) {
      vital = {HealthStatus::unhealthy, {{"error", e.what()}}};
    }
    if (vital.status == HealthStatus::unhealthy) report.healthy = false;
    boost::json::object entry;
    entry["status"] = to_string(vital.status);
    for (auto& [key, value] : vital.details) entry[key] = std::move(value);
    vitals[name] = std::move(entry);
  }
  report.body["vitals"] = std::move(vitals);
  return report;
}

}  // namespace flint::health
