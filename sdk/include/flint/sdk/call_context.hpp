#pragma once

/// @file
/// What the host tells a driver about the call it is serving.

#include <chrono>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flint::sdk {

/// Severity of a driver log line; each maps to the spdlog level of the same
/// name (`error` to `err`).
enum class LogLevel { trace, debug, info, warn, error };

/// One named value of a log line, kept as structured data beside its message
/// (Inmanta keeps each action's log lines this way).
///
/// `name` is ASCII letters, digits and `_`, at most 64 characters; the host
/// writes the field as `field.<name>` (a JSON key in logstash lines,
/// ` field.<name>=<value>` in flat ones), replacing any other character with
/// `_` and cutting a longer name. A value is truncated after 4096 bytes. Both
/// views must stay valid for the call that takes them. Never pass secrets.
struct LogField {
  /// The field's name (`volume`, `attempt`).
  std::string_view name;
  /// Its value, as text.
  std::string_view value;
};

/// The context of one driver call: who asked, until when, and a logger that
/// carries the request's trace context (`tracectx.*`) and tenant.
///
/// Owned by the host and valid only for the duration of the call it is
/// passed to: do not keep a reference past it. Not thread-safe; use it from
/// the thread that runs the call.
class CallContext {
 public:
  /// Trace context fields: (`transactionid`, value) pairs from the
  /// `x-tracectx-*` request headers, lower-cased names without the prefix.
  using TraceFields = std::vector<std::pair<std::string, std::string>>;

  /// Implemented by the host (or a test double).
  virtual ~CallContext() = default;

  /// The tenant id of the request (`tenantId` header), or empty.
  virtual std::string_view tenant_id() const noexcept = 0;
  /// The trace context of the request.
  virtual const TraceFields& trace_context() const noexcept = 0;
  /// When the host stops waiting for this call. A driver that can bound its
  /// own work (a connect timeout, a poll loop) should stop by then. Past the
  /// deadline the caller has been answered (503, or the poll is retried
  /// later), but the call keeps its driver thread until it returns. A late
  /// `execute_lifecycle`, `create_infrastructure` or `delete_infrastructure`
  /// result is still recorded and monitored (a client that retried may start
  /// the work twice); a late terminal poll result may still be recorded.
  virtual std::chrono::steady_clock::time_point deadline() const noexcept = 0;
  /// Writes one log line with the request's context and the given named
  /// values (see `LogField`), in that order. Never pass secrets. The one
  /// function a context implements; the forms below all call it.
  virtual void write_log(LogLevel level, std::string_view message,
                         std::span<const LogField> fields) = 0;

  /// True once the deadline has passed.
  bool deadline_passed() const noexcept { return std::chrono::steady_clock::now() >= deadline(); }
  /// Writes one log line: `ctx.log(LogLevel::info, "volume created", {{"volume", id}})`.
  void log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {}) {
    write_log(level, message, std::span<const LogField>(fields.begin(), fields.size()));
  }
  /// Logs at debug level.
  void debug(std::string_view message, std::initializer_list<LogField> fields = {}) {
    log(LogLevel::debug, message, fields);
  }
  /// Logs at info level.
  void info(std::string_view message, std::initializer_list<LogField> fields = {}) {
    log(LogLevel::info, message, fields);
  }
  /// Logs at warn level.
  void warn(std::string_view message, std::initializer_list<LogField> fields = {}) {
    log(LogLevel::warn, message, fields);
  }
  /// Logs at error level.
  void error(std::string_view message, std::initializer_list<LogField> fields = {}) {
    log(LogLevel::error, message, fields);
  }
};

}  // namespace flint::sdk
