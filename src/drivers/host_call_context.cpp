#include "drivers/host_call_context.hpp"

namespace flint::drivers {

HostCallContext::HostCallContext(logging::LogFields log_fields, std::string tenant_id,
                                 std::chrono::steady_clock::time_point deadline,
                                 std::shared_ptr<spdlog::logger> logger)
    : log_fields_(std::move(log_fields)),
      tenant_id_(std::move(tenant_id)),
      deadline_(deadline),
      logger_(std::move(logger)) {
  static constexpr std::string_view kPrefix = "tracectx.";
  for (const auto& [key, value] : log_fields_) {
    if (key.starts_with(kPrefix)) trace_.emplace_back(key.substr(kPrefix.size()), value);
  }
}

void HostCallContext::log(sdk::LogLevel level, std::string_view message) {
  static constexpr spdlog::level::level_enum kLevels[] = {spdlog::level::trace,
                                                          spdlog::level::debug, spdlog::level::info,
                                                          spdlog::level::warn, spdlog::level::err};
  logging::ScopedLogContext scope(log_fields_);
  logger_->log(kLevels[static_cast<int>(level)], message);
}

}  // namespace flint::drivers
