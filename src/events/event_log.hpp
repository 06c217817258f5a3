#pragma once

/// @file
/// The embedded event log: Flint's default event destination, read over HTTP.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "events/outbox_event.hpp"
#include "events/sequence_signal.hpp"
#include "store/sqlite_database.hpp"

namespace flint::events {

/// An event as stored in the log.
struct LoggedEvent {
  /// The log's sequence number: assigned on first append, strictly increasing,
  /// never reused (not even after retention removed every event).
  std::int64_t seq = 0;
  /// The event (its `seq` field is the outbox position it had when appended).
  OutboxEvent event;
  /// When the log stored it, in Unix milliseconds (retention by age uses it).
  std::int64_t appended_at = 0;
};

/// Settings of the event log (`events.log.*`).
struct EventLogOptions {
  /// The log's own SQLite file, normally `<data_dir>/events.db`.
  std::filesystem::path path;
  /// Durability that `sync` gives appends: `full` survives a power loss.
  /// Appends alone survive a process crash either way.
  store::Synchronous synchronous = store::Synchronous::normal;
  /// Events appended longer ago than this are removed by `prune`, oldest
  /// first: an event stays while an event before it does (after a clock step
  /// back), so the log never has holes. Zero keeps them whatever their age.
  std::chrono::milliseconds max_age{0};
  /// At most this many events are kept (the newest); zero means no limit.
  std::int64_t max_events = 0;
  /// `append` also prunes when the last prune is at least this old, and in
  /// between removes the oldest events past `max_events` at once; zero
  /// leaves pruning to explicit `prune` calls.
  std::chrono::milliseconds prune_interval{60'000};
};

/// An append-only log of events in its own SQLite file (WAL).
///
/// Appends are idempotent per event id (an id already kept is skipped), so the outbox
/// relay may deliver an event twice without duplicating it, as long as the
/// first copy is still kept (an event redelivered after retention removed
/// its first copy is appended again with a new sequence number; consumers
/// deduplicate by event id).
///
/// Thread-safe: every method may be called from any thread; database access
/// is serialized by a mutex (reads and appends are short). `wait_after` must
/// be awaited on a strand (see `SequenceSignal`).
class EventLog {
 public:
  /// Opens (creating it if needed) the log and applies its schema migrations.
  /// @throws store::SqliteError naming the file when it cannot be opened or
  ///         migrated, or when its schema is newer than this program.
  explicit EventLog(EventLogOptions options);
  ~EventLog();

  /// The schema version of `events.db` this build writes (and the newest it opens).
  static int schema_version() noexcept;
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  /// Appends the events not yet in the log, in order, in one transaction, and
  /// wakes the waiters. Once it returns they survive a process crash; `sync`
  /// makes them survive a power loss.
  /// @returns how many events were new.
  /// @throws store::SqliteError (e.g. disk full); nothing is appended then.
  std::size_t append(std::span<const OutboxEvent> batch);

  /// Makes every event appended so far as durable as `synchronous` says (an
  /// fsync with `full`, nothing with `normal`): one sync covers any number
  /// of appends.
  /// @throws store::SqliteError when the sync fails.
  void sync();

  /// Up to `limit` events with a sequence number greater than `after_seq`,
  /// oldest first, and no more once their payloads reach `max_bytes` (at
  /// least one: a reader always advances). When `after_seq` is older than
  /// what retention kept, the read starts at the oldest event kept.
  /// @throws store::SqliteError (also kept for `read_error`).
  std::vector<LoggedEvent> read(std::int64_t after_seq, std::size_t limit,
                                std::size_t max_bytes = SIZE_MAX) const;

  /// Why the last read failed (a damaged file...), or empty when it did not.
  std::string read_error() const;

  /// The last sequence number ever assigned (0 for a new log).
  std::int64_t last_seq() const noexcept { return signal_.value(); }
  /// The oldest sequence number kept, or 0 when the log is empty.
  /// @throws store::SqliteError.
  std::int64_t first_seq() const;
  /// Events kept.
  /// @throws store::SqliteError.
  std::int64_t size() const;
  /// The id of the event kept at `seq`, or nullopt when none is (pruned, or
  /// not yet assigned). Readers check their position with it: after a
  /// restore from a backup, numbers past the backup are assigned again.
  /// @throws store::SqliteError.
  std::optional<std::string> event_id_at(std::int64_t seq) const;

  /// Applies retention (age, then count) relative to `now`.
  /// @returns how many events were removed.
  /// @throws store::SqliteError.
  std::size_t prune(std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

  /// Waits until an event with a sequence number greater than `after_seq`
  /// exists, `deadline` passes, or `stop_waiting` is called.
  /// @returns true when such an event exists.
  boost::asio::awaitable<bool> wait_after(std::int64_t after_seq,
                                          std::chrono::steady_clock::time_point deadline) {
    return signal_.wait_beyond(after_seq, deadline);
  }

  /// Ends every wait now and makes later waits return at once (call when the
  /// server starts stopping, so that long polls answer promptly).
  void stop_waiting() { signal_.close(); }
  /// True once `stop_waiting` was called (streams should then end).
  bool waits_stopped() const noexcept { return signal_.closed(); }

  /// The settings in use.
  const EventLogOptions& options() const noexcept { return options_; }

 private:
  struct Statements;
  std::size_t prune_locked(std::chrono::system_clock::time_point now);

  EventLogOptions options_;
  mutable std::mutex mutex_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<Statements> statements_;
  std::chrono::steady_clock::time_point last_prune_;
  std::int64_t kept_from_ = 0;      // the oldest number kept (at most), 0 when none
  mutable std::string read_error_;  // guarded by mutex_
  SequenceSignal signal_;
};

}  // namespace flint::events
