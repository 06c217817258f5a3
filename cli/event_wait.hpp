#pragma once

/// @file
/// Waiting for the event that ends a request (`flint exec`, `flint infra`).

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "flint_api.hpp"
#include "progress_display.hpp"

namespace flint::cli {

/// What to wait for and how to show it.
struct EventWait {
  /// Read the log after this sequence number (its head before the request).
  std::uint64_t after = 0;
  /// Give up then.
  std::chrono::steady_clock::time_point deadline;
  /// True for the event that ends the request.
  std::function<bool(const Event&)> matches;
  /// Called before each page of the log (to decorate the progress); false
  /// ends the wait without an event (none will come). May be empty.
  std::function<bool()> tick;
  /// Status shown again once a lost connection is back; empty = keep the current one.
  std::string status_after_reconnect;
  /// The longest a long poll waits: `tick` runs at least this often.
  std::chrono::seconds longest_poll{20};
};

/// Follows the event log (`GET /api/events`, long polls) until an event
/// `matches`, reconnecting while the server is away (accepted work
/// survives a restart) and saying so on `progress`.
/// @returns the event, or nullopt when the deadline passed or `tick` gave up.
/// @throws ApiError when the server answers an error (not a lost connection).
std::optional<Event> wait_for_event(FlintApi& api, const EventWait& wait,
                                    ProgressDisplay& progress);

}  // namespace flint::cli
