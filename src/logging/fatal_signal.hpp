#pragma once

/// @file
/// One last log line when the process dies of a fault: a driver plugin runs
/// in the host's process, and its crash (a segfault, an abort) takes the
/// host down with it. Without this line the log just stops, and a driver
/// that crashes again on the work resumed at the next start would loop with
/// nothing to say which driver, or which call, it was.

#include <memory>
#include <string_view>

#include "logging/logging.hpp"

namespace flint::logging {

/// Installs handlers for SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT that
/// write one line to stderr, in `format`, naming the signal, the thread and
/// the driver call it was running (`ScopedDriverCallNote`), then let the
/// signal take its default course (the process ends, dumping core where the
/// system allows). Call once, after `configure`, from the main thread, which
/// gets an `AlternateSignalStack` for the life of the process. Does nothing
/// in a build with AddressSanitizer or ThreadSanitizer, whose handlers
/// report a fault better.
void install_fatal_signal_report(LogFormat format);

/// Whether `install_fatal_signal_report` installs anything in this build.
bool fatal_signal_report_available() noexcept;

/// Gives the calling thread a stack of its own for the fatal-signal handler,
/// for the life of the object: a stack overflow's SIGSEGV finds no room left
/// on the thread's stack, and without one the process would end without its
/// line. For threads that run driver code (the driver pool). Construct and
/// destroy on the same thread. Does nothing where the report is not
/// available (sanitizer builds keep their own).
class AlternateSignalStack {
 public:
  AlternateSignalStack();
  ~AlternateSignalStack();
  AlternateSignalStack(const AlternateSignalStack&) = delete;
  AlternateSignalStack& operator=(const AlternateSignalStack&) = delete;

 private:
  std::unique_ptr<char[]> stack_;
};

/// Names the driver call this thread runs, for the fatal-signal line, for
/// the life of the scope. Views: what they show must outlive the scope.
/// Nests (the inner call is named). Costs two stores.
class ScopedDriverCallNote {
 public:
  ScopedDriverCallNote(std::string_view driver, std::string_view operation) noexcept;
  ~ScopedDriverCallNote();
  ScopedDriverCallNote(const ScopedDriverCallNote&) = delete;
  ScopedDriverCallNote& operator=(const ScopedDriverCallNote&) = delete;

 private:
  std::string_view previous_driver_;
  std::string_view previous_operation_;
};

}  // namespace flint::logging
