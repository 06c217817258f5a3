#include "logging/fatal_signal.hpp"

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <ctime>
#include <memory>

#include <sys/prctl.h>
#include <unistd.h>

// Everything the handler calls is async-signal-safe: it formats into a buffer
// on its stack with its own code (no fmt, no allocation, no locale) and makes
// only system calls (clock_gettime, prctl, write).

namespace flint::logging {
namespace {

// Constant-initialized, so reading them in a handler starts no lazy init.
constinit thread_local std::string_view t_driver;
constinit thread_local std::string_view t_operation;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

constinit LogFormat g_format = LogFormat::flat;
constinit char g_host[256] = {};

class LineBuffer {
 public:
  void add(std::string_view text) {
    for (const char c : text) {
      if (used_ == sizeof text_) return;
      text_[used_++] = c;
    }
  }
  // For text from outside (names, a library's path): printable ASCII that
  // needs no JSON escaping, cut so that the line keeps its end.
  void add_safe(std::string_view text) {
    for (const char c : text.substr(0, 256)) {
      const bool plain = c >= ' ' && c <= '~' && c != '"' && c != '\\';
      add(std::string_view(plain ? &c : "?", 1));
    }
  }
  void add_number(std::uint64_t value, int width = 1, unsigned base = 10) {
    char digits[24];
    int count = 0;
    do {
      digits[count++] = "0123456789abcdef"[value % base];
      value /= base;
    } while (value != 0 && count < static_cast<int>(sizeof digits));
    for (int pad = count; pad < width; ++pad) add("0");
    while (count > 0) add(std::string_view(&digits[--count], 1));
  }
  void write_to_stderr() const {
    std::size_t written = 0;
    while (written < used_) {
      const ssize_t n = ::write(STDERR_FILENO, text_ + written, used_ - written);
      if (n <= 0) return;
      written += static_cast<std::size_t>(n);
    }
  }

 private:
  char text_[1536];
  std::size_t used_ = 0;
};

// 2026-12-06T14:40:00.123Z, as the log's other lines (days to a civil date:
// H. Hinnant's algorithm, since gmtime_r is not async-signal-safe).
void add_timestamp(LineBuffer& line) {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  const std::int64_t seconds = now.tv_sec;
  const std::int64_t days = seconds / 86400;
  const std::int64_t in_day = seconds % 86400;
  const std::int64_t z = days + 719468;
  const std::int64_t era = z / 146097;
  const std::int64_t day_of_era = z - era * 146097;
  const std::int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const std::int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const std::int64_t mp = (5 * day_of_year + 2) / 153;
  const std::int64_t day = day_of_year - (153 * mp + 2) / 5 + 1;
  const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
  line.add_number(static_cast<std::uint64_t>(year), 4);
  line.add("-");
  line.add_number(static_cast<std::uint64_t>(month), 2);
  line.add("-");
  line.add_number(static_cast<std::uint64_t>(day), 2);
  line.add("T");
  line.add_number(static_cast<std::uint64_t>(in_day / 3600), 2);
  line.add(":");
  line.add_number(static_cast<std::uint64_t>(in_day / 60 % 60), 2);
  line.add(":");
  line.add_number(static_cast<std::uint64_t>(in_day % 60), 2);
  line.add(".");
  line.add_number(static_cast<std::uint64_t>(now.tv_nsec / 1'000'000), 3);
  line.add("Z");
}

std::string_view signal_name(int signal) {
  switch (signal) {
    case SIGSEGV:
      return "SIGSEGV (invalid memory access)";
    case SIGBUS:
      return "SIGBUS (bus error)";
    case SIGFPE:
      return "SIGFPE (arithmetic error)";
    case SIGILL:
      return "SIGILL (illegal instruction)";
    case SIGABRT:
      return "SIGABRT (aborted)";
    default:
      return "unknown";
  }
}

void add_message(LineBuffer& line, int signal, const siginfo_t* info, std::string_view thread) {
  line.add("fatal signal ");
  line.add(signal_name(signal));
  // Only a fault the kernel raised has an address (not a signal sent with kill).
  if ((signal == SIGSEGV || signal == SIGBUS) && info != nullptr && info->si_code > 0) {
    line.add(" at address 0x");
    line.add_number(reinterpret_cast<std::uintptr_t>(info->si_addr), 1, 16);
  }
  line.add(" on thread ");
  line.add_safe(thread);
  if (!t_driver.empty()) {
    line.add(", in a call of driver '");
    line.add_safe(t_driver);
    line.add("' (");
    line.add_safe(t_operation);
    line.add(")");
  }
  line.add("; the process stops");
}

void on_fatal_signal(int signal, siginfo_t* info, void* /*context*/) {
  char thread_buffer[17] = {};
  ::prctl(PR_GET_NAME, thread_buffer, 0, 0, 0);
  const std::string_view thread(thread_buffer);
  LineBuffer line;
  if (g_format == LogFormat::logstash) {
    line.add("{\"@timestamp\":\"");
    add_timestamp(line);
    line.add("\",\"@version\":\"1\",\"message\":\"");
    add_message(line, signal, info, thread);
    line.add("\",\"HOSTNAME\":\"");
    line.add_safe(g_host);
    line.add("\",\"path\":\"app\",\"tags\":[],\"type\":\"logstash\",\"thread_name\":\"");
    line.add_safe(thread);
    line.add("\",\"level\":\"CRITICAL\",\"logger_name\":\"app\"}\n");
  } else {
    add_timestamp(line);
    line.add(" CRITICAL [");
    line.add_safe(thread);
    line.add("] app: ");
    add_message(line, signal, info, thread);
    line.add("\n");
  }
  line.write_to_stderr();
  // SA_RESETHAND put the default action back; the signal, blocked while this
  // handler runs, is delivered once it returns (a fault would also recur).
  ::raise(signal);
}

}  // namespace

void install_fatal_signal_report(LogFormat format) {
  if (kSanitized) return;  // the sanitizer's own report says more
  g_format = format;
  if (::gethostname(g_host, sizeof g_host - 1) != 0) g_host[0] = '\0';
  static const AlternateSignalStack main_thread_stack;  // plugins load on this thread
  struct sigaction action {};
  action.sa_sigaction = on_fatal_signal;
  // On the thread's alternate stack where it has one (a stack overflow).
  action.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  for (const int signal : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) {
    ::sigaction(signal, &action, nullptr);
  }
}

bool fatal_signal_report_available() noexcept {
  return !kSanitized;
}

AlternateSignalStack::AlternateSignalStack() {
  if (kSanitized) return;
  // The handler needs about 2 KiB; what the C library asks for, at least.
  const std::size_t size =
      std::max<std::size_t>(64 * 1024, static_cast<std::size_t>(::sysconf(_SC_SIGSTKSZ)));
  stack_ = std::make_unique_for_overwrite<char[]>(size);  // untouched pages cost no memory
  stack_t alternate{};
  alternate.ss_sp = stack_.get();
  alternate.ss_size = size;
  if (::sigaltstack(&alternate, nullptr) != 0) {
    stack_.reset();  // the handler still runs, on the thread's stack
  }
}

AlternateSignalStack::~AlternateSignalStack() {
  if (!stack_) return;
  stack_t disabled{};
  disabled.ss_flags = SS_DISABLE;
  ::sigaltstack(&disabled, nullptr);  // before the memory goes
}

ScopedDriverCallNote::ScopedDriverCallNote(std::string_view driver,
                                           std::string_view operation) noexcept
    : previous_driver_(t_driver), previous_operation_(t_operation) {
  t_driver = driver;
  t_operation = operation;
}

ScopedDriverCallNote::~ScopedDriverCallNote() {
  t_driver = previous_driver_;
  t_operation = previous_operation_;
}

}  // namespace flint::logging
