#pragma once

/// @file
/// The host's implementation of `sdk::CallContext`.

#include <memory>
#include <string>

#include <spdlog/logger.h>

#include <flint/sdk/call_context.hpp>

#include "logging/log_context.hpp"

namespace flint::drivers {

/// Context of one driver call: the request's log fields, tenant and deadline,
/// and the driver's logger. Lives for the duration of the call.
class HostCallContext final : public sdk::CallContext {
 public:
  /// `log_fields` are the request's (`tracectx.*`, `tenantId`); copied.
  HostCallContext(logging::LogFields log_fields, std::string tenant_id,
                  std::chrono::steady_clock::time_point deadline,
                  std::shared_ptr<spdlog::logger> logger);

  std::string_view tenant_id() const noexcept override { return tenant_id_; }
  const TraceFields& trace_context() const noexcept override { return trace_; }
  std::chrono::steady_clock::time_point deadline() const noexcept override { return deadline_; }
  /// Logs through the driver's logger with the request's fields, then the
  /// driver's as `field.<name>` (see `sdk::LogField` for the rules applied).
  void write_log(sdk::LogLevel level, std::string_view message,
                 std::span<const sdk::LogField> fields) override;

  /// The fields to install as the log context while the call runs.
  const logging::LogFields& log_fields() const noexcept { return log_fields_; }

 private:
  logging::LogFields log_fields_;
  TraceFields trace_;
  std::string tenant_id_;
  std::chrono::steady_clock::time_point deadline_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace flint::drivers
