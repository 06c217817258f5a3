#pragma once

/// @file
/// What Ctrl-C does in the client commands.

#include <signal.h>

namespace flint::cli {

/// Makes SIGINT end the process at once with `exit_code`, after writing
/// `message` (may be null) to stderr.
///
/// The handler only calls async-signal-safe functions (`write`, `_exit`):
/// nothing is flushed, so callers flush each line they print, and wrap
/// multi-line output in `DeferInterrupt`. Call from the main thread; the
/// message must outlive the process (a literal or a static buffer).
void exit_on_interrupt(int exit_code, const char* message);

/// Blocks SIGINT in the calling thread for its lifetime so a line is never
/// cut in half; a Ctrl-C pressed meanwhile takes effect at destruction.
class DeferInterrupt {
 public:
  /// Blocks SIGINT.
  DeferInterrupt();
  /// Restores the previous signal mask (delivering a pending SIGINT).
  ~DeferInterrupt();
  DeferInterrupt(const DeferInterrupt&) = delete;
  DeferInterrupt& operator=(const DeferInterrupt&) = delete;

 private:
  sigset_t saved_;
};

}  // namespace flint::cli
