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

namespace {

constexpr std::size_t kMaxFieldName = 64;
constexpr std::size_t kMaxFieldValue = 4096;

// `field.<name>`, the name cut to its limit and made of letters, digits and
// `_` only, so that no driver can write over a host field (`message`,
// `tenantId`) or break a flat line's `key=value` form.
std::string field_key(std::string_view name) {
  std::string key = "field.";
  if (name.empty()) return key + "_";
  for (const char c : name.substr(0, kMaxFieldName)) {
    const bool allowed =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    key.push_back(allowed ? c : '_');
  }
  return key;
}

std::string field_value(std::string_view value) {
  if (value.size() <= kMaxFieldValue) return std::string(value);
  return std::string(value.substr(0, kMaxFieldValue)) + "...(truncated)";
}

}  // namespace

void HostCallContext::write_log(sdk::LogLevel level, std::string_view message,
                                std::span<const sdk::LogField> fields) {
  static constexpr spdlog::level::level_enum kLevels[] = {spdlog::level::trace,
                                                          spdlog::level::debug, spdlog::level::info,
                                                          spdlog::level::warn, spdlog::level::err};
  const spdlog::level::level_enum spd_level = kLevels[static_cast<int>(level)];
  if (!logger_->should_log(spd_level)) return;  // no copies for a line nobody keeps
  if (fields.empty()) {
    logging::ScopedLogContext scope(log_fields_);
    logger_->log(spd_level, message);
    return;
  }
  logging::LogFields line_fields = log_fields_;
  line_fields.reserve(line_fields.size() + fields.size());
  for (const sdk::LogField& field : fields) {
    line_fields.emplace_back(field_key(field.name), field_value(field.value));
  }
  logging::ScopedLogContext scope(line_fields);
  logger_->log(spd_level, message);
}

}  // namespace flint::drivers
