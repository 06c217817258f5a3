#pragma once

/// @file
/// The `executions` table: the durable record of every lifecycle execution,
/// as the status endpoint shows it. Its one owner: the monitor writes it on
/// a single node; in a cluster, every node's copy is written from the shared
/// execution-state topic.

#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "store/sqlite_database.hpp"

namespace flint::service {

/// An execution a driver accepted, and what monitoring it needs.
struct AcceptedExecution {
  std::string request_id{};
  /// The driver that accepted it (and is polled for it).
  std::string driver{};
  std::string lifecycle_name{};
  /// Empty when the request had none.
  std::string tenant_id{};
  /// Unix milliseconds.
  std::int64_t accepted_at = 0;
  /// When monitoring gives up (accepted_at + monitoring.total_timeout).
  std::int64_t deadline_at = 0;
  /// The topology of the 202 reply, encoded as on the wire.
  boost::json::value associated_topology{};
  /// What a poll needs: `driver`, `deploymentLocation` (credentials: seal it
  /// before it leaves memory), `logFields`, `tenantId`.
  boost::json::object job{};
};

/// The end of an execution's monitoring: its outcome, or why it stopped
/// without one.
struct ExecutionEnding {
  std::string request_id{};
  /// `COMPLETE` or `FAILED`; empty when monitoring stopped without an
  /// outcome (the driver forgot the request).
  std::string status{};
  /// Set when FAILED.
  std::optional<std::string> failure_code{};
  std::string failure_description{};
  boost::json::value outputs = boost::json::object();
  boost::json::value associated_topology = boost::json::object();
  /// `complete`, or `stopped: <why>`.
  std::string monitoring = "complete";
  /// Unix milliseconds.
  std::int64_t ended_at = 0;
};

/// Inserts the record of `execution` (status IN_PROGRESS, monitoring active).
/// `sealed_job` is the sealed `execution.job` when this store monitors the
/// execution: it stays in the record until the ending, and a restart resumes
/// it from there (see `monitored_executions`). Null when something else
/// monitors it (a cluster's copy) or nothing is to be monitored.
/// @returns false when `if_absent` and the record exists (left as it is).
/// @throws store::SqliteError (SQLITE_CONSTRAINT when it exists and not `if_absent`).
bool insert_execution(store::Database& db, const AcceptedExecution& execution, bool if_absent,
                      const std::string* sealed_job);

/// Records `ending` on an execution still monitored, and drops its job; the
/// first ending wins.
/// @returns whether the record changed (false: unknown, or already ended).
bool end_execution(store::Database& db, const ExecutionEnding& ending);

/// An execution this store monitors, as a restart finds it.
struct MonitoredExecution {
  std::string request_id{};
  /// The sealed job given to `insert_execution`.
  std::string sealed_job{};
  /// Unix milliseconds.
  std::int64_t deadline_at = 0;
};

/// Every execution with a job in this store, oldest first.
std::vector<MonitoredExecution> monitored_executions(store::Database& db);

/// How many executions have a job in this store.
std::int64_t count_monitored_executions(store::Database& db);

/// The number of executions still in progress in this node's copy of a
/// cluster's records: active, without a job of this node's (the cluster
/// keeps their jobs in Kafka). 0 without reading the records when this store
/// never was a cluster node's (no `cluster_offsets`).
std::int64_t count_cluster_executions_in_progress(store::Database& db);

/// What one `prune_ended_executions` call looked at and removed.
struct PruneRound {
  /// The greatest request id examined; the next round starts after it. Empty
  /// when the round reached the end of the table (the next starts over).
  std::string next_after{};
  /// Records examined (at most the limit).
  std::size_t examined = 0;
  /// Records removed.
  std::size_t removed = 0;
};

/// Removes, among the first `limit` records after `after` in request-id
/// order, those whose monitoring is over and whose latest time (delivered,
/// else completed, else accepted) is before `ended_before` (Unix ms). A record
/// still monitored is never removed. Bounded work: a sweep over a large table
/// is many short rounds, so no group commit waits long behind one.
/// @throws store::SqliteError.
PruneRound prune_ended_executions(store::Database& db, std::string_view after,
                                  std::int64_t ended_before, std::size_t limit);

/// The record of `request_id` as the status API shows it, or nullopt.
std::optional<boost::json::object> read_execution(store::Database& db, std::string_view request_id);

/// A place in the order of monitored executions: oldest acceptance first,
/// then request id.
struct MonitoredPosition {
  /// Unix milliseconds.
  std::int64_t accepted_at = 0;
  std::string request_id{};

  /// Listing order: by acceptance, then by id.
  friend auto operator<=>(const MonitoredPosition&, const MonitoredPosition&) = default;
};

/// One page of the executions this store monitors (those with a job).
struct MonitoredPage {
  /// Their records, as `read_execution` shows them, in `MonitoredPosition` order.
  std::vector<boost::json::object> records{};
  /// Where the next page starts (after its last record); none on the last page.
  std::optional<MonitoredPosition> next{};
};

/// At most `limit` (>= 1) of the executions this store monitors, after
/// `after` (from the first when none). Reads the index of monitored records
/// only: a page costs its rows, however many records have ended.
/// @throws store::SqliteError.
MonitoredPage read_monitored_executions(store::Database& db,
                                        const std::optional<MonitoredPosition>& after,
                                        std::size_t limit);

/// A cluster node's page: the records at `positions` (sorted, the jobs the
/// node holds; its records hold none) that are still monitored, at most
/// `limit` (>= 1) of them. A position whose record is not in this store yet,
/// or has ended, is passed over. Costs a lookup per position read.
/// @throws store::SqliteError.
MonitoredPage read_monitored_executions_at(store::Database& db,
                                           std::span<const MonitoredPosition> positions,
                                           std::size_t limit);

/// `unix_ms` as ISO 8601 UTC with milliseconds, e.g. `2024-02-29T12:34:56.007Z`.
std::string iso8601_utc(std::int64_t unix_ms);

}  // namespace flint::service
