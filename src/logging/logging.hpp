#pragma once

/// @file
/// Process-wide logging: flat text or logstash JSON (Ignition's `LOG_TYPE`),
/// one shared sink, named loggers per module.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

namespace flint::logging {

/// Output format of log lines.
enum class LogFormat {
  flat,      ///< `2026-11-22T01:02:03.456Z INFO     [io-0] api: message key=value`
  logstash,  ///< one JSON object per line, contract section 7
};

/// Logging settings (from `logging.level` / `logging.type`).
struct LogOptions {
  /// spdlog level name: trace, debug, info, warn, error, critical, off.
  std::string level = "info";
  /// Output format.
  LogFormat format = LogFormat::flat;
  /// Whether each line starts with its syslog priority (`<3>` for an error),
  /// which systemd's journal reads and strips. Unset: when standard error is
  /// the journal's stream (`JOURNAL_STREAM`) and no other sink is given.
  std::optional<bool> priority_prefix = std::nullopt;
};

/// (Re)configures every logger. Call once at start, before threads start
/// logging. Lines go to standard error unless `sink` is given (tests).
/// @throws std::invalid_argument for an unknown level name.
void configure(const LogOptions& options, spdlog::sink_ptr sink = nullptr);

/// The format `configure` set last (flat before any).
LogFormat format();

/// Flushes every log line written so far (before an abrupt exit).
void flush();

/// The logger named `name` (e.g. `http`, `api`, `driver.noop`), created on
/// first use with the configured sink and level. Thread-safe.
std::shared_ptr<spdlog::logger> logger(std::string_view name);

/// `text` with each PEM private key block (`-----BEGIN ... PRIVATE KEY-----`
/// through its END line, or to the end of a block cut short) replaced by
/// `****`, as every log line is written (contract: keys are masked wherever
/// they would appear), its spaces written as such or percent-encoded in a
/// URL (`%20`, `+`). Returns `text` itself when it holds none, else a view
/// of `masked`.
std::string_view mask_private_keys(std::string_view text, std::string& masked);

/// The longest message a log line carries, in bytes: request data (a name,
/// a driver's error text) must not make one line megabytes long.
inline constexpr std::size_t kMaxMessageBytes = 16 * 1024;

/// `text` cut to `kMaxMessageBytes` (at a UTF-8 character boundary) with
/// ` ... [N bytes cut]` appended. Returns `text` itself when it fits, else a
/// view of `bounded`.
std::string_view bounded_message(std::string_view text, std::string& bounded);

/// `text` with every byte that is not part of well-formed UTF-8 written as
/// `\xNN`, so a JSON log line stays valid. Returns `text` itself when it is
/// well-formed, else a view of `repaired`.
std::string_view valid_utf8(std::string_view text, std::string& repaired);

}  // namespace flint::logging
