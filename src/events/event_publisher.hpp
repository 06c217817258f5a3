#pragma once

/// @file
/// The port through which outbox events leave Flint (embedded log, Kafka...).

#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "events/outbox_event.hpp"

namespace flint::events {

/// Thrown by `EventPublisher::publish` when the events of some topics could
/// not be delivered but every other event of the batch was (a topic the
/// destination refuses, say): the relay then holds those topics back and
/// lets the others go on.
class TopicsNotDelivered : public std::runtime_error {
 public:
  /// `topics`: the outbox topics (`OutboxEvent::topic`) whose events of the
  /// batch may not have been delivered.
  TopicsNotDelivered(const std::string& message, std::vector<std::string> topics)
      : std::runtime_error(message), topics_(std::move(topics)) {}
  /// The topics not delivered.
  const std::vector<std::string>& topics() const noexcept { return topics_; }

 private:
  std::vector<std::string> topics_;
};

/// A destination of outbox events.
///
/// The outbox relay calls `publish` from its own thread, one batch at a time,
/// in outbox order, and calls it again with the same events after a failure:
/// delivery is at least once, so an implementation must be idempotent per
/// `OutboxEvent::event_id` (or leave deduplication to its consumers and say
/// so). Implementations must be safe to call from that thread while other
/// threads use the destination.
class EventPublisher {
 public:
  virtual ~EventPublisher() = default;

  /// Delivers `batch` (in order) durably: when it returns, the events must
  /// survive a crash of this process.
  /// @throws TopicsNotDelivered when only some topics' events could not be
  ///         delivered: those topics are offered again later, the others go on.
  /// @throws std::exception (any other) when the batch, or part of it, could
  ///         not be delivered; the whole batch is then offered again later.
  virtual void publish(std::span<const OutboxEvent> batch) = 0;

  /// Makes every event published so far survive a power loss too, as far as
  /// the destination is configured to (a file's fsync, say). The relay calls
  /// it before it deletes events from the outbox, so one sync covers many
  /// batches. Default: nothing (`publish` is already as durable as it gets,
  /// like a broker's acknowledgement).
  /// @throws std::exception (any) when the sync failed; the events then stay
  ///         in the outbox and the sync is tried again later.
  virtual void sync() {}

  /// Called by the relay when it has nothing to deliver (at least every
  /// `events.outbox.idle_wake`): a chance to notice, while idle, that the
  /// destination went away. Default: nothing.
  virtual void idle() {}

  /// Asks a `publish` in progress on another thread to give up soon (the
  /// relay is stopping); it then throws and its events stay in the outbox.
  /// Default: nothing (publishers that never wait long). Thread-safe.
  virtual void interrupt() noexcept {}

  /// A short name for logs and metrics labels, e.g. `event-log`.
  virtual std::string_view name() const noexcept = 0;
};

}  // namespace flint::events
