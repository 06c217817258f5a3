#include "event_wait.hpp"

#include <algorithm>
#include <thread>

#include "http_client.hpp"

namespace flint::cli {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::seconds kMaxWait{20};
constexpr std::size_t kPageSize = 100;
constexpr auto kRetryPause = std::chrono::seconds(1);

}  // namespace

std::optional<Event> wait_for_event(FlintApi& api, const EventWait& wait,
                                    ProgressDisplay& progress) {
  std::uint64_t after = wait.after;
  bool connection_lost = false;
  while (true) {
    if (wait.tick && !wait.tick()) return std::nullopt;
    const auto remaining = std::chrono::ceil<std::chrono::seconds>(wait.deadline - Clock::now());
    if (remaining.count() <= 0) return std::nullopt;
    EventsPage page;
    try {
      page = api.events(after, kPageSize, std::min(remaining, kMaxWait));
    } catch (const HttpError& e) {
      if (!connection_lost) progress.note(std::string(e.what()) + "; retrying");
      connection_lost = true;
      progress.set_status("RECONNECTING");
      std::this_thread::sleep_for(kRetryPause);
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
    after = page.next_after(after);
  }
}

}  // namespace flint::cli
