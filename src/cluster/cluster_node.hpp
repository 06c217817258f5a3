#pragma once

/// @file
/// A Flint node in a cluster: monitoring shared through a Kafka consumer
/// group, execution records shared through a state topic every node reads.
/// Design and guarantees: docs/design/cluster.md.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <prometheus/registry.h>

#include "cluster/state_codec.hpp"
#include "events/kafka/kafka_client.hpp"
#include "events/kafka/kafka_producer.hpp"
#include "health/health_registry.hpp"
#include "service/cluster_link.hpp"
#include "service/lifecycle_monitor.hpp"
#include "store/store.hpp"

namespace flint::cluster {

/// Joins this node to the cluster and runs its two readers of the state
/// topic (`messaging.topics.execution_state`, keyed by request id):
///
/// - the **owner**: a member of the consumer group `job_queue.consumer_group_id`.
///   The partitions the group assigns it are its share of the monitoring:
///   it catches up on each (from the group's committed offset to the end),
///   then hands the executions still live there to the monitor (`adopt`),
///   and takes them back when their ending appears or the partition moves
///   (`release`). The committed offset of a partition is that of its oldest
///   live execution, so the next owner starts there.
/// - the **view**: a reader of every partition that applies each record to
///   this node's `executions` table (its position is stored in the same
///   transaction), so any node answers status requests.
///
/// Also the `ClusterLink` of the monitor: accepted executions are produced
/// to the topic (acks=all) before the 202. Lifecycle: construct, `start`,
/// `stop` (or destroy) before the monitor and the store go.
class ClusterNode final : public service::ClusterLink {
 public:
  /// Settings (`cluster.*`, `messaging.*`, `job_queue.*`).
  struct Options {
    events::KafkaClientOptions client;
    /// The state topic (created at start when `auto_create`).
    events::KafkaTopic topic;
    /// The consumer group sharing the monitoring.
    std::string consumer_group;
    /// This node's name in the group (`group.instance.id` is not used:
    /// a node that restarts rejoins as a new member).
    std::string node_id;
    /// A produce not acknowledged by then fails.
    std::chrono::milliseconds delivery_timeout{30'000};
    /// A node silent this long leaves the group and its partitions move.
    std::chrono::milliseconds session_timeout{10'000};
    /// How often the owner commits its partitions' offsets.
    std::chrono::milliseconds commit_interval{2'000};
    /// First poll of an execution adopted as it is accepted (one poll
    /// interval, as on a single node); one adopted on a partition move is
    /// polled at once.
    std::chrono::milliseconds first_poll_delay{500};
  };

  /// Builds the producer and the two consumers (no connection yet).
  /// @throws events::KafkaConfigError naming a setting the client refused.
  ClusterNode(Options options, StateCodec codec, store::Store& store,
              service::LifecycleMonitor& monitor, prometheus::Registry& registry);
  ~ClusterNode() override;
  ClusterNode(const ClusterNode&) = delete;
  ClusterNode& operator=(const ClusterNode&) = delete;

  /// Starts the owner and the view.
  void start();
  /// Leaves the group (the partitions move now, not after the session
  /// timeout), releases the executions held, stops both readers. Idempotent.
  void stop();

  void publish_accepted(const service::AcceptedExecution& execution) override;
  void catch_up() override;
  std::string encode_ending(const service::ExecutionEnding& ending) const override;

  /// Health details: node, partitions owned, executions held, records
  /// applied by the view, the last error; false while one stands.
  bool describe(health::HealthDetails& details) const;

 private:
  class Owner;
  class View;

  Options options_;
  StateCodec codec_;
  service::LifecycleMonitor& monitor_;
  events::KafkaProducer producer_;
  std::unique_ptr<Owner> owner_;
  std::unique_ptr<View> view_;
};

}  // namespace flint::cluster
