#pragma once

/// @file
/// The event log as an event destination: the first `EventPublisher` adapter.

#include <algorithm>
#include <iterator>
#include <string>
#include <vector>

#include "events/event_log.hpp"
#include "events/event_publisher.hpp"

namespace flint::events {

/// Publishes outbox events by appending them to an `EventLog`. Idempotent per
/// event id (see `EventLog::append`). Thread-safe; the log must outlive it.
class EventLogPublisher final : public EventPublisher {
 public:
  /// Events of `internal_topics` (Flint's own state, not events for
  /// orchestrators) are not logged.
  explicit EventLogPublisher(EventLog& log, std::vector<std::string> internal_topics = {})
      : log_(log), internal_topics_(std::move(internal_topics)) {}

  /// Appends `batch` to the log.
  /// @throws store::SqliteError when the log cannot be written (disk full...).
  void publish(std::span<const OutboxEvent> batch) override {
    const auto internal = [this](const OutboxEvent& event) {
      return std::find(internal_topics_.begin(), internal_topics_.end(), event.topic) !=
             internal_topics_.end();
    };
    if (std::none_of(batch.begin(), batch.end(), internal)) {
      log_.append(batch);
      return;
    }
    std::vector<OutboxEvent> events;
    std::copy_if(batch.begin(), batch.end(), std::back_inserter(events),
                 [&](const OutboxEvent& event) { return !internal(event); });
    if (!events.empty()) log_.append(events);
  }

  /// Syncs the log (see `EventLog::sync`).
  /// @throws store::SqliteError when the sync fails.
  void sync() override { log_.sync(); }

  /// `event-log`.
  std::string_view name() const noexcept override { return "event-log"; }

 private:
  EventLog& log_;
  std::vector<std::string> internal_topics_;
};

}  // namespace flint::events
