#pragma once

/// @file
/// Removes the records of executions that ended long ago, so that the store
/// does not grow with every execution ever accepted.

#include <chrono>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <prometheus/registry.h>

#include "store/store.hpp"

namespace flint::service {

/// Sweeps the `executions` table in short rounds, removing each record whose
/// monitoring is over and whose latest time (delivered, else completed, else
/// accepted) is older than `max_age` (`store.execution_retention`).
///
/// Each round examines at most `round_size` records in request-id order,
/// as one write of the store's group commit, and the next round follows
/// after `round_pause`; after the last record, the sweep starts over after
/// `sweep_pause`. So a record is removed within about one sweep of
/// becoming old enough, and no commit waits behind a long delete. Records
/// still monitored are never removed, whatever their age.
///
/// Lifecycle: construct, `start`, `stop` (or destroy) before the store and the
/// I/O context. Thread-safe to stop from any thread; a round in progress
/// completes. Failures (a full disk) are logged and the round is retried at
/// the next sweep.
class ExecutionRetention {
 public:
  /// Settings.
  struct Options {
    /// Age after which an ended record is removed; must be positive.
    std::chrono::milliseconds max_age{std::chrono::hours(24 * 7)};
    /// Records examined per round.
    std::size_t round_size = 500;
    /// Wait between two rounds of one sweep.
    std::chrono::milliseconds round_pause{20};
    /// Wait between two sweeps; when zero, `max_age` / 10 within
    /// [100 ms, 60 s], so short ages (tests) are honoured closely too.
    std::chrono::milliseconds sweep_pause{0};
  };

  /// Registers `flint_execution_records_pruned_total`.
  /// @throws std::invalid_argument when `max_age` or `round_size` is not positive.
  ExecutionRetention(store::Store& store, boost::asio::io_context& io, Options options,
                     prometheus::Registry& registry);
  /// Calls `stop`.
  ~ExecutionRetention();
  ExecutionRetention(const ExecutionRetention&) = delete;
  ExecutionRetention& operator=(const ExecutionRetention&) = delete;

  /// Starts the first sweep now. Call once.
  void start();
  /// Schedules no further round. Idempotent.
  void stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace flint::service
