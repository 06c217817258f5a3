#include "logging/logging.hpp"

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <typeinfo>
#include <unordered_map>

#include <boost/core/demangle.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <pthread.h>
#include <spdlog/details/log_msg.h>
#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <flint/sdk/json.hpp>

#include "logging/log_context.hpp"
#include "logging/thread_name.hpp"

namespace flint::logging {
namespace {

// Python's level names: Ignition's logstash output (and the dashboards built on
// it) use them.
std::string_view level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "TRACE";
    case spdlog::level::debug:
      return "DEBUG";
    case spdlog::level::info:
      return "INFO";
    case spdlog::level::warn:
      return "WARNING";
    case spdlog::level::err:
      return "ERROR";
    case spdlog::level::critical:
      return "CRITICAL";
    default:
      return "OFF";
  }
}

// The `<N>` prefix by which systemd's journal takes a line's priority from a
// service's standard error (sd-daemon(3)); without it, every line is stored
// at the unit's default priority, info, and `journalctl -p err` finds none.
std::string_view syslog_prefix(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return "<7>";
    case spdlog::level::info:
      return "<6>";
    case spdlog::level::warn:
      return "<4>";
    case spdlog::level::err:
      return "<3>";
    default:
      return "<2>";
  }
}

// Whether standard error is the journal's stream: systemd names it in
// JOURNAL_STREAM as "<device>:<inode>". A process that inherited the variable
// but writes elsewhere (a shell started by a service) gets no prefixes.
bool stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  struct stat status {};
  if (stream == nullptr || ::fstat(STDERR_FILENO, &status) != 0) return false;
  return fmt::format("{}:{}", status.st_dev, status.st_ino) == stream;
}

// UTC with milliseconds and a `Z`, as the contract's `@timestamp`.
void append_timestamp(std::chrono::system_clock::time_point time, spdlog::memory_buf_t& dest) {
  const auto since_epoch = time.time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
  const std::time_t t = static_cast<std::time_t>(seconds.count());
  std::tm utc{};
  gmtime_r(&t, &utc);
  fmt::format_to(std::back_inserter(dest), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                 utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                 utc.tm_sec, millis);
}

std::string thread_label(const spdlog::details::log_msg& msg) {
  const std::string& name = current_thread_name();
  return name.empty() ? std::to_string(msg.thread_id) : name;
}

// The UTF-8 length of a code point at `text[at]` that a reader aware of
// Unicode takes as a line break or control (U+0080-U+009F, NEL among them;
// U+2028, U+2029), with the code point; 0 for anything else.
std::size_t unicode_break_at(std::string_view text, std::size_t at, unsigned& code_point) {
  const auto byte = [&](std::size_t i) {
    return i < text.size() ? static_cast<unsigned char>(text[i]) : 0u;
  };
  if (byte(at) == 0xC2 && byte(at + 1) >= 0x80 && byte(at + 1) <= 0x9F) {
    code_point = byte(at + 1);
    return 2;
  }
  if (byte(at) == 0xE2 && byte(at + 1) == 0x80 && (byte(at + 2) == 0xA8 || byte(at + 2) == 0xA9)) {
    code_point = 0x2000 | (byte(at + 2) & 0x3F);
    return 3;
  }
  return 0;
}

// One log record is one line: control characters from request data (a
// lifecycle name, a header) must not forge further lines, not even for a
// reader that splits lines on Unicode's breaks too.
void append_escaped(std::string_view text, spdlog::memory_buf_t& dest) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    unsigned code_point = 0;
    if (const std::size_t length = unicode_break_at(text, i, code_point)) {
      fmt::format_to(std::back_inserter(dest), "\\u{:04x}", code_point);
      i += length - 1;
    } else if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) {
      dest.push_back(c);
    } else if (c == '\n') {
      dest.append(std::string_view("\\n"));
    } else if (c == '\r') {
      dest.append(std::string_view("\\r"));
    } else if (c == '\t') {
      dest.append(std::string_view("\\t"));
    } else {
      fmt::format_to(std::back_inserter(dest), "\\x{:02x}", static_cast<unsigned char>(c));
    }
  }
}

// How a PEM block's spaces may be written: as they are, and in a URL.
struct PemSpelling {
  std::string_view private_key;  // "PRIVATE KEY", in a label
  std::string_view begin;        // "-----BEGIN "
  std::string_view end;          // "-----END "
};
constexpr PemSpelling kPemSpellings[] = {
    {"PRIVATE KEY", "-----BEGIN ", "-----END "},
    {"PRIVATE%20KEY", "-----BEGIN%20", "-----END%20"},
    {"PRIVATE+KEY", "-----BEGIN+", "-----END+"},
};

// `text` with its private key blocks written in `spelling` replaced, into
// `masked`; false (and `masked` unspecified) when it holds none.
bool mask_blocks(std::string_view text, const PemSpelling& spelling, std::string& masked) {
  if (text.find(spelling.private_key) == std::string_view::npos) return false;
  constexpr std::string_view kDashes = "-----";
  constexpr std::size_t kMaxLabel = 96;  // "ENCRYPTED PRIVATE KEY", "PGP PRIVATE KEY BLOCK"
  masked.clear();
  std::size_t copied = 0;
  std::size_t from = 0;
  for (;;) {
    const auto begin = text.find(spelling.begin, from);
    if (begin == std::string_view::npos) break;
    const auto label_at = begin + spelling.begin.size();
    const auto label_end = text.find(kDashes, label_at);
    if (label_end == std::string_view::npos) break;
    const std::string_view label = text.substr(label_at, label_end - label_at);
    if (label.size() > kMaxLabel || label.find(spelling.private_key) == std::string_view::npos) {
      from = label_at;
      continue;
    }
    // Through the END line, or to the end of a key cut short.
    std::size_t block_end = text.size();
    if (const auto end = text.find(spelling.end, label_end + kDashes.size());
        end != std::string_view::npos) {
      const auto closing = text.find(kDashes, end + spelling.end.size());
      if (closing != std::string_view::npos) block_end = closing + kDashes.size();
    }
    masked.append(text.substr(copied, begin - copied));
    masked.append("****");
    copied = from = block_end;
  }
  if (copied == 0) return false;
  masked.append(text.substr(copied));
  return true;
}

}  // namespace

std::string_view mask_private_keys(std::string_view text, std::string& masked) {
  std::string_view result = text;
  std::string pass;
  for (const PemSpelling& spelling : kPemSpellings) {
    if (mask_blocks(result, spelling, pass)) {
      masked.swap(pass);  // `result` may view `pass`'s old buffer: read before it is reused
      result = masked;
    }
  }
  return result;
}

std::string_view bounded_message(std::string_view text, std::string& bounded) {
  if (text.size() <= kMaxMessageBytes) return text;
  std::size_t keep = kMaxMessageBytes;
  // Not inside a character: back to the start of the one at the cut.
  while (keep > 0 && (static_cast<unsigned char>(text[keep]) & 0xC0) == 0x80) --keep;
  bounded.assign(text.substr(0, keep));
  fmt::format_to(std::back_inserter(bounded), " ... [{} bytes cut]", text.size() - keep);
  return bounded;
}

std::string_view valid_utf8(std::string_view text, std::string& repaired) {
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t length = sdk::json::utf8_sequence(text, i);
    if (length == 0) break;
    i += length;
  }
  if (i == text.size()) return text;
  repaired.assign(text.substr(0, i));
  while (i < text.size()) {
    if (const std::size_t length = sdk::json::utf8_sequence(text, i); length != 0) {
      repaired.append(text.substr(i, length));
      i += length;
    } else {
      fmt::format_to(std::back_inserter(repaired), "\\x{:02x}",
                     static_cast<unsigned char>(text[i]));
      ++i;
    }
  }
  return repaired;
}

namespace {

class FlatFormatter final : public spdlog::formatter {
 public:
  explicit FlatFormatter(bool priority_prefix) : priority_prefix_(priority_prefix) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    if (priority_prefix_) dest.append(syslog_prefix(msg.level));
    append_timestamp(msg.time, dest);
    fmt::format_to(std::back_inserter(dest), " {:<8} [{}] {}: ", level_name(msg.level),
                   thread_label(msg),
                   std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    std::string bounded;
    std::string masked;
    append_escaped(
        mask_private_keys(
            bounded_message(std::string_view(msg.payload.data(), msg.payload.size()), bounded),
            masked),
        dest);
    if (const LogFields* fields = current_log_context()) {
      for (const auto& [key, value] : *fields) {
        fmt::format_to(std::back_inserter(dest), " {}=", key);
        append_escaped(mask_private_keys(value, masked), dest);
      }
    }
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<FlatFormatter>(priority_prefix_);
  }

 private:
  bool priority_prefix_;
};

// Java's layout of a throwable's top lines, one per exception in the nested
// chain: `<type>: <message>`, then `Caused by: <type>: <message>`. A C++
// exception carries no frames, so none are listed.
void append_exception(const std::exception_ptr& exception, std::string& trace) {
  if (!trace.empty()) trace += "\nCaused by: ";
  try {
    std::rethrow_exception(exception);
  } catch (const std::exception& error) {
    trace += boost::core::demangle(typeid(error).name());
    trace += ": ";
    trace += error.what();
    try {
      std::rethrow_if_nested(error);
    } catch (...) {
      append_exception(std::current_exception(), trace);
    }
  } catch (...) {
    trace += "unknown exception (not derived from std::exception)";
  }
}

std::string host_name() {
  char buffer[256] = {};
  if (gethostname(buffer, sizeof buffer - 1) != 0) return "unknown";
  return buffer;
}

class LogstashFormatter final : public spdlog::formatter {
 public:
  explicit LogstashFormatter(bool priority_prefix) : priority_prefix_(priority_prefix) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    spdlog::memory_buf_t timestamp;
    append_timestamp(msg.time, timestamp);
    const std::string_view logger_name(msg.logger_name.data(), msg.logger_name.size());

    // JSON text is UTF-8: a stray byte from request data would make the line
    // unreadable to a log shipper.
    std::string masked;
    std::string repaired;
    const auto safe = [&](std::string_view raw) {
      return boost::json::string(valid_utf8(mask_private_keys(raw, masked), repaired));
    };
    boost::json::object line;
    line["@timestamp"] = std::string_view(timestamp.data(), timestamp.size());
    line["@version"] = "1";
    std::string bounded;
    line["message"] =
        safe(bounded_message(std::string_view(msg.payload.data(), msg.payload.size()), bounded));
    line["HOSTNAME"] = hostname_;
    line["path"] =
        msg.source.filename != nullptr ? std::string_view(msg.source.filename) : logger_name;
    line["tags"] = boost::json::array();
    line["type"] = "logstash";
    line["thread_name"] = thread_label(msg);
    line["level"] = level_name(msg.level);
    line["logger_name"] = logger_name;
    if (const LogFields* fields = current_log_context()) {
      for (const auto& [key, value] : *fields) {
        boost::json::string field = safe(value);
        line[valid_utf8(key, repaired)] = std::move(field);
      }
    }
    // An error logged while an exception is handled names it, as Ignition's
    // logback lines carry the throwable's trace (contract section 7).
    if (msg.level >= spdlog::level::err) {
      if (const std::exception_ptr handled = std::current_exception()) {
        std::string trace;
        append_exception(handled, trace);
        line["stack_trace"] = safe(bounded_message(trace, bounded));
      }
    }
    // Boost.JSON writes these raw; escaped, they still mean the same string.
    const std::string text = boost::json::serialize(line);
    if (priority_prefix_) dest.append(syslog_prefix(msg.level));
    std::size_t copied = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
      unsigned code_point = 0;
      if (const std::size_t length = unicode_break_at(text, i, code_point)) {
        dest.append(text.data() + copied, text.data() + i);
        fmt::format_to(std::back_inserter(dest), "\\u{:04x}", code_point);
        i += length - 1;
        copied = i + 1;
      }
    }
    dest.append(text.data() + copied, text.data() + text.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<LogstashFormatter>(priority_prefix_);
  }

 private:
  bool priority_prefix_;
  std::string hostname_ = host_name();
};

struct LoggingState {
  std::mutex mutex;
  spdlog::sink_ptr sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  spdlog::level::level_enum level = spdlog::level::info;
  LogFormat format = LogFormat::flat;
  std::unordered_map<std::string, std::shared_ptr<spdlog::logger>> loggers;
};

LoggingState& state() {
  static LoggingState instance;
  return instance;
}

}  // namespace

void configure(const LogOptions& options, spdlog::sink_ptr sink) {
  const auto level = spdlog::level::from_str(options.level);
  if (level == spdlog::level::off && options.level != "off") {
    throw std::invalid_argument("logging.level: unknown level '" + options.level + "'");
  }
  LoggingState& s = state();
  std::lock_guard lock(s.mutex);
  s.level = level;
  s.format = options.format;
  const bool priority_prefix = options.priority_prefix.value_or(!sink && stderr_is_journal());
  if (sink) {
    s.sink = std::move(sink);
    for (auto& [name, log] : s.loggers) log->sinks().assign(1, s.sink);
  }
  if (options.format == LogFormat::logstash) {
    s.sink->set_formatter(std::make_unique<LogstashFormatter>(priority_prefix));
  } else {
    s.sink->set_formatter(std::make_unique<FlatFormatter>(priority_prefix));
  }
  for (auto& [name, log] : s.loggers) log->set_level(level);
}

LogFormat format() {
  LoggingState& s = state();
  std::lock_guard lock(s.mutex);
  return s.format;
}

void flush() {
  LoggingState& s = state();
  std::lock_guard lock(s.mutex);
  s.sink->flush();
}

std::shared_ptr<spdlog::logger> logger(std::string_view name) {
  LoggingState& s = state();
  std::lock_guard lock(s.mutex);
  auto it = s.loggers.find(std::string(name));
  if (it != s.loggers.end()) return it->second;
  auto created = std::make_shared<spdlog::logger>(std::string(name), s.sink);
  created->set_level(s.level);
  // Errors are rare and must not be lost in a crash that follows them.
  created->flush_on(spdlog::level::err);
  s.loggers.emplace(std::string(name), created);
  return created;
}

}  // namespace flint::logging
