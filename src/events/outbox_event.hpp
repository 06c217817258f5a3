#pragma once

/// @file
/// One event waiting in the outbox: the unit every publisher delivers.

#include <cstdint>
#include <optional>
#include <string>

namespace flint::events {

/// A row of the `outbox` table of the main database: an event written in the
/// same transaction as the state it describes, waiting to be delivered.
///
/// A plain value; copy and move freely.
struct OutboxEvent {
  /// Position in the outbox (`outbox.seq`). Orders delivery; it is not the
  /// sequence number readers of the event log see.
  std::int64_t seq = 0;
  /// Unique id of the event (a time-ordered UUID, version 7). Delivery is at least once: a
  /// consumer deduplicates by this id.
  std::string event_id;
  /// Topic, e.g. `lifecycle_execution_events`.
  std::string topic;
  /// Key, e.g. the request id; events with the same key keep their order.
  std::optional<std::string> key;
  /// Tenant of the request, carried beside the payload (a Kafka record
  /// header), never inside it.
  std::optional<std::string> tenant_id;
  /// The payload, a JSON document, exactly as it is to be delivered (for a
  /// lifecycle execution it is the contract's Kafka event).
  std::string payload;
  /// When the event was written, in Unix milliseconds.
  std::int64_t created_at = 0;
};

}  // namespace flint::events
