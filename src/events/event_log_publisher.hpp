#pragma once

/// @file
/// The event log as an event destination: the first `EventPublisher` adapter.

#include "events/event_log.hpp"
#include "events/event_publisher.hpp"

namespace flint::events {

/// Publishes outbox events by appending them to an `EventLog`. Idempotent per
/// event id (see `EventLog::append`). Thread-safe; the log must outlive it.
class EventLogPublisher final : public EventPublisher {
 public:
  explicit EventLogPublisher(EventLog& log) noexcept : log_(log) {}

  /// Appends `batch` to the log.
  /// @throws store::SqliteError when the log cannot be written (disk full...).
  void publish(std::span<const OutboxEvent> batch) override { log_.append(batch); }

  /// `event-log`.
  std::string_view name() const noexcept override { return "event-log"; }

 private:
  EventLog& log_;
};

}  // namespace flint::events
