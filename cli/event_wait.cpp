#include "event_wait.hpp"

#include <algorithm>
#include <thread>

#include "http_client.hpp"

namespace flint::cli {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kPageSize = 100;
constexpr auto kRetryPause = std::chrono::seconds(1);
constexpr auto kShortPollPause = std::chrono::milliseconds(100);

}  // namespace

std::optional<Event> wait_for_event(FlintApi& api, const EventWait& wait,
                                    ProgressDisplay& progress) {
  EventLogPosition after{wait.after, {}};
  bool connection_lost = false;
  while (true) {
    if (wait.tick && !wait.tick()) return std::nullopt;
    const auto remaining = wait.deadline - Clock::now();
    if (remaining <= Clock::duration::zero()) return std::nullopt;
    // The server waits whole seconds: never past the deadline.
    const auto long_poll =
        std::min(std::chrono::floor<std::chrono::seconds>(remaining), wait.longest_poll);
    EventsPage page;
    try {
      page = api.events(after, kPageSize, long_poll);
    } catch (const HttpError& e) {
      if (Clock::now() >= wait.deadline) return std::nullopt;  // the call was cut at it
      if (!connection_lost) progress.note(std::string(e.what()) + "; retrying");
      connection_lost = true;
      progress.set_status("RECONNECTING");
      std::this_thread::sleep_for(
          std::min<Clock::duration>(kRetryPause, wait.deadline - Clock::now()));
      continue;
    } catch (const ApiError& e) {
      if (e.status() != 409) throw;
      // The log was restored from a backup or replaced: the event may now
      // sit at a number already passed. Read it again from the start.
      progress.note("the server's event log was replaced; reading it again from the start");
      after = {};
      continue;
    }
    if (connection_lost) {
      connection_lost = false;
      if (!wait.status_after_reconnect.empty()) progress.set_status(wait.status_after_reconnect);
      progress.note("reconnected to " + api.base().text);
    }
    for (const Event& event : page.events) {
      if (wait.matches(event)) return event;
    }
    after = page.next(after);
    // Under a second left the server answers at once: poll, but not in a spin.
    if (long_poll.count() == 0 && page.events.empty()) {
      std::this_thread::sleep_for(
          std::min<Clock::duration>(kShortPollPause, wait.deadline - Clock::now()));
    }
  }
}

}  // namespace flint::cli
