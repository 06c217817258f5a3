#pragma once

/// @file
/// The progress of `flint exec` on stderr: a live line on a terminal, plain
/// lines otherwise.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>

namespace flint::cli {

/// Shows what a command is waiting for.
///
/// Live mode (a terminal): a background thread redraws one line every 100 ms
/// with a spinner, the elapsed time, the label and the current status. Plain
/// mode: one line per status change, `flint: <label>: <status> (<elapsed>)`.
/// Notes are printed on their own line in both modes.
///
/// Thread-safe. The stream is not owned and must outlive this object; nothing
/// else may write to it while a live display runs.
class ProgressDisplay {
 public:
  /// Starts displaying `label` (e.g. `Create`) with status `status` (drawn
  /// at once in live mode; plain mode prints only later changes).
  ProgressDisplay(std::ostream& out, bool live, std::string label, std::string status);
  /// Stops (and clears the live line).
  ~ProgressDisplay();
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;

  /// Changes the status shown; plain mode prints it when it differs.
  void set_status(const std::string& status);
  /// Prints `flint: <line>` on its own line.
  void note(const std::string& line);
  /// Stops the display: the live line is cleared; later calls print nothing
  /// live. Idempotent.
  void stop();
  /// Time since construction.
  std::chrono::milliseconds elapsed() const;

 private:
  void run();
  void draw_locked();
  void clear_locked();

  std::ostream& out_;
  const bool live_;
  const std::string label_;
  const std::chrono::steady_clock::time_point start_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::string status_;
  bool stopped_ = false;
  unsigned frame_ = 0;
  std::thread thread_;
};

}  // namespace flint::cli
