#pragma once

/// @file
/// Delivers the outbox of the main database to the event publishers.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "events/delivered_rows.hpp"
#include "events/event_publisher.hpp"
#include "events/outbox_event.hpp"
#include "events/outbox_probe.hpp"

namespace flint::store {
class Database;
class SqliteError;
}  // namespace flint::store

namespace flint::events {

/// A thread that moves events from the `outbox` table to every publisher, at
/// least once.
///
/// Each round reads up to `batch_size` rows in outbox order through its own
/// connection and publishes the batch to every publisher (in order, so events
/// with the same key keep their order). Delivered rows are deleted once the
/// publishers have synced them (`EventPublisher::sync`), at most
/// `sync_interval` later, so one sync covers every batch of that time. The
/// next round reads past the delivered rows by `seq` (AUTOINCREMENT, never
/// reused, committed in order by the one writer), so it need not wait for
/// their deletion. A publisher that fails gets the same batch again after a
/// back-off (`retry_min`, doubling up to `retry_max`, with jitter);
/// publishers that already took the batch are not called again for it;
/// nothing later is delivered before it, and nothing is lost: the rows stay
/// until every publisher has them. A publisher that fails only some topics
/// (`TopicsNotDelivered`: a topic Kafka refuses) holds back just those: their
/// events, from the first undelivered one on, are offered again on their
/// own, in order, with their own back-off, while the other topics' events go
/// on; the held rows stay in the outbox until delivered. A crash between publishing and deleting
/// (or a sync or deletion that fails) redelivers the batch at the next start (publishers are
/// idempotent by event id). A failed sync is retried after a back-off, its rows kept meanwhile.
///
/// The relay wakes on `notify` and at least every `idle_wake`.
///
/// Lifecycle: construct, add listeners, `start`, then `notify` from any
/// thread; `stop` (or the destructor) joins. The publishers and the probe
/// must outlive the relay.
class OutboxRelay {
 public:
  /// Settings (`events.outbox.*`).
  struct Options {
    /// The main database holding the `outbox` table (`<data_dir>/flint.db`).
    std::filesystem::path database;
    /// Rows read and published at once.
    std::size_t batch_size = 512;
    /// Longest sleep without a `notify`.
    std::chrono::milliseconds idle_wake{1000};
    /// First back-off after a failure.
    std::chrono::milliseconds retry_min{100};
    /// Longest back-off after repeated failures: short enough that a sink
    /// coming back is used within seconds, long enough not to spin on it.
    std::chrono::milliseconds retry_max{5'000};
    /// Longest wait of delivered rows for the publishers' sync and their
    /// deletion. Zero: after each batch. Longer spares the disk one sync per
    /// batch under load, and costs only outbox rows kept a little longer.
    std::chrono::milliseconds sync_interval{0};
    /// Deletes the delivered rows. When set, the owner of the database's
    /// writes does it and need not wait for its commit (the host queues it
    /// on its group-committing store, so the relay neither contends for the
    /// write lock nor waits behind other writes); when empty, the relay
    /// deletes through its own connection.
    std::function<void(const DeliveredRows& rows)> acknowledge;
    /// Told of every SQLite error of the relay's own connection (the host
    /// notes the ones that say the database is damaged, for health).
    std::function<void(const store::SqliteError& error)> on_database_error;
  };

  /// Called on the relay thread with each batch of events once every
  /// publisher has them (their deletion follows within `sync_interval`), in
  /// outbox order.
  /// Should be quick; exceptions are logged and ignored.
  using Listener = std::function<void(std::span<const OutboxEvent>)>;

  /// Opens its own connection to the database and prepares its statements.
  /// @throws std::invalid_argument when `publishers` is empty or contains
  ///         null, or `batch_size` is zero.
  /// @throws store::SqliteError when the database cannot be opened or has no
  ///         `outbox` table (its migrations must have run first).
  OutboxRelay(Options options, std::vector<EventPublisher*> publishers, OutboxProbe& probe);
  /// Calls `stop`.
  ~OutboxRelay();
  OutboxRelay(const OutboxRelay&) = delete;
  OutboxRelay& operator=(const OutboxRelay&) = delete;

  /// Adds a listener for delivered events. Call before `start`.
  void on_delivered(Listener listener);

  /// Starts the relay thread. Call once.
  /// @throws std::system_error when the thread cannot be started.
  void start();

  /// Wakes the relay now; call after committing `rows` outbox rows, which
  /// `backlog` counts at once (the relay counts the table only between its
  /// publishes, and a publish may wait for its destination for long).
  /// Thread-safe, never blocks for long.
  void notify(std::int64_t rows = 1) noexcept;

  /// Stops and joins the thread: a publish in progress finishes first; a
  /// back-off is cut short (its rows stay for the next start). Idempotent.
  void stop();

  /// Events delivered to every publisher since the start.
  std::uint64_t delivered() const noexcept { return delivered_.load(); }
  /// Events waiting in the outbox: as last counted (at most a second ago
  /// while delivering or failing, at each idle wake otherwise), plus the
  /// rows notified and less the events delivered since. A row committed
  /// while the relay counts may be counted twice, or missed, until the next
  /// count.
  std::int64_t backlog() const noexcept { return std::max<std::int64_t>(0, backlog_.load()); }

  /// Topics held back by a publisher that refuses them, each with the
  /// error. Thread-safe.
  std::map<std::string, std::string> held() const;

 private:
  struct Statements;
  void run();
  void run_rounds();
  // A topic held back (see TopicsNotDelivered).
  struct Held {
    std::int64_t from = 0;  // its first row not delivered to every publisher
    std::string error;      // the last refusal
    std::chrono::milliseconds backoff{};
    std::chrono::steady_clock::time_point retry_at{};
    std::size_t failures = 0;
    std::chrono::steady_clock::time_point since{};
  };
  std::vector<OutboxEvent> read_batch();
  std::vector<OutboxEvent> read_held(const std::string& topic, std::int64_t from);
  // Takes the events of held topics out of `batch`.
  void drop_held(std::vector<OutboxEvent>& batch) const;
  // Offers the events of held topics that are due again; false when stopping.
  bool retry_held();
  // Holds back `topics` from the first of their events in `batch` on, and
  // takes those events out of it.
  void hold(const TopicsNotDelivered& refusal, std::string_view publisher,
            std::vector<OutboxEvent>& batch);
  // Counts, times and tells the listeners of events every publisher has.
  void delivered(std::span<const OutboxEvent> events);
  DeliveredRows delivered_rows() const;
  void delete_delivered(const DeliveredRows& rows);
  // Syncs the publishers, then deletes what they were delivered. False when
  // a sync failed (logged; the rows stay).
  bool acknowledge();
  bool acknowledge_due() const;
  void update_backlog();
  void refresh_backlog();                             // update_backlog, at most once a second
  void change_backlog(std::int64_t events) noexcept;  // the estimate between counts
  /// Sleeps until notified, stopped, or `timeout`; false when stopping.
  bool sleep(std::chrono::milliseconds timeout);
  std::chrono::milliseconds next_backoff(std::chrono::milliseconds& backoff);

  Options options_;
  std::vector<EventPublisher*> publishers_;
  OutboxProbe& probe_;
  std::vector<Listener> listeners_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<Statements> statements_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool notified_ = false;
  bool stopping_ = false;
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::int64_t> backlog_{0};
  // Relay thread only: the last seq read by the main rounds, the last one
  // they delivered to every publisher (held topics aside), and whether
  // anything was delivered since the last deletion was queued (when).
  std::int64_t read_through_ = 0;
  std::int64_t delivered_through_ = 0;
  bool unacknowledged_ = false;
  // Held-back topics (see hold); written on the relay thread, read by held().
  mutable std::mutex held_mutex_;
  std::map<std::string, Held, std::less<>> held_;
  // Never, at first: the first acknowledgement is due at once. (The clock's
  // epoch is the boot: on a machine up for less than `sync_interval`, it
  // would have waited until then.)
  std::chrono::steady_clock::time_point acknowledged_at_ =
      std::chrono::steady_clock::time_point::min();
  std::chrono::steady_clock::time_point backlog_counted_{};
  std::thread thread_;
};

}  // namespace flint::events
