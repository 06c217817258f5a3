#include "health/health_registry.hpp"

#include <exception>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/serialize.hpp>

namespace flint::health {

std::string_view to_string(HealthStatus status) noexcept {
  switch (status) {
    case HealthStatus::ok:
      return "OK";
    case HealthStatus::degraded:
      return "DEGRADED";
    case HealthStatus::unhealthy:
      break;
  }
  return "UNHEALTHY";
}

void HealthRegistry::add(std::string name, Check check) {
  checks_.emplace_back(std::move(name), std::move(check));
}

HealthRegistry::Report HealthRegistry::report() const {
  // Health is polled often: build the document in one stack-backed arena,
  // large enough for every component's vitals (4 KiB spilled to the heap).
  unsigned char arena[16384];
  boost::json::monotonic_resource resource(arena, sizeof arena);
  boost::json::object vitals(&resource);
  vitals.reserve(checks_.size());
  Report report;
  for (const auto& [name, check] : checks_) {
    boost::json::object entry(&resource);
    entry["status"] = "";
    HealthStatus status;
    try {
      status = check(entry);
    } catch (const std::exception& e) {
      status = HealthStatus::unhealthy;
      entry["error"] = e.what();
    }
    if (status == HealthStatus::unhealthy) report.healthy = false;
    entry["status"] = to_string(status);
    vitals.emplace(name, std::move(entry));
  }
  boost::json::object body(&resource);
  body.emplace("vitals", std::move(vitals));
  report.body = boost::json::serialize(body);
  return report;
}

}  // namespace flint::health
