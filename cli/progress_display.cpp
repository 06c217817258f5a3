#include "progress_display.hpp"

#include "duration.hpp"

namespace flint::cli {
namespace {

constexpr char kSpinner[] = {'|', '/', '-', '\\'};
constexpr auto kFrameInterval = std::chrono::milliseconds(100);

}  // namespace

ProgressDisplay::ProgressDisplay(std::ostream& out, bool live, std::string label,
                                 std::string status)
    : out_(out),
      live_(live),
      label_(std::move(label)),
      start_(std::chrono::steady_clock::now()),
      status_(std::move(status)) {
  // Plain mode starts silent: callers announce the start with a note.
  if (live_) thread_ = std::thread([this] { run(); });
}

ProgressDisplay::~ProgressDisplay() {
  stop();
}

std::chrono::milliseconds ProgressDisplay::elapsed() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start_);
}

void ProgressDisplay::set_status(const std::string& status) {
  std::lock_guard lock(mutex_);
  if (status == status_) return;
  status_ = status;
  if (stopped_) return;
  if (live_) {
    draw_locked();
  } else {
    out_ << "flint: " << label_ << ": " << status_ << " (" << format_elapsed(elapsed()) << ")\n"
         << std::flush;
  }
}

void ProgressDisplay::note(const std::string& line) {
  std::lock_guard lock(mutex_);
  if (live_ && !stopped_) clear_locked();
  out_ << "flint: " << line << "\n";
  if (live_ && !stopped_) draw_locked();
  out_ << std::flush;
}

void ProgressDisplay::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    if (live_) clear_locked();
    out_ << std::flush;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ProgressDisplay::run() {
  std::unique_lock lock(mutex_);
  while (!stopped_) {
    draw_locked();
    ++frame_;
    wake_.wait_for(lock, kFrameInterval, [this] { return stopped_; });
  }
}

void ProgressDisplay::draw_locked() {
  // \r + "erase line": the line is redrawn in place.
  out_ << "\r\x1b[2K" << kSpinner[frame_ % sizeof kSpinner] << " " << label_ << "  "
       << format_elapsed(elapsed()) << "  " << status_ << std::flush;
}

void ProgressDisplay::clear_locked() {
  out_ << "\r\x1b[2K";
}

}  // namespace flint::cli
