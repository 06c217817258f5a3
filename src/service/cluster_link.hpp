#pragma once

/// @file
/// What the lifecycle monitor needs from a cluster of Flint nodes.

#include <string>
#include <string_view>

#include "service/execution_records.hpp"

namespace flint::service {

/// The shared execution state of a cluster (implemented on Kafka by
/// `cluster::ClusterNode`). In cluster mode an accepted execution is written
/// there, not scheduled locally: the node that owns its partition monitors
/// it, and every node keeps its record.
class ClusterLink {
 public:
  /// The outbox topic whose events carry `ExecutionEnding`s to the shared
  /// state (mapped to its Kafka topic; never in the embedded event log).
  static constexpr std::string_view kStateTopic = "execution_state";

  virtual ~ClusterLink() = default;

  /// Writes `execution` to the shared state; returns once Kafka has it.
  /// Blocking: call on a driver thread.
  /// @throws std::exception naming the cause when it could not be written.
  virtual void publish_accepted(const AcceptedExecution& execution) = 0;

  /// Waits until this node's copy of the shared state (its `executions`
  /// table) holds every record the state topic had when called, as of the
  /// node's latest fetch of it (a fraction of a second: librdkafka's own
  /// query can hang while Kafka is away): an id it does not know then was
  /// not accepted by any node before that. Blocking, bounded by the delivery
  /// timeout; fails at once while Kafka is known to be away.
  /// @throws std::exception naming the cause when it cannot catch up.
  virtual void catch_up() = 0;

  /// The outbox payload that carries `ending` to the shared state (sealed).
  virtual std::string encode_ending(const ExecutionEnding& ending) const = 0;
};

}  // namespace flint::service
