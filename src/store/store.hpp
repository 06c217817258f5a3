#pragma once

/// @file
/// The embedded store: Flint's own SQLite database under the data directory,
/// with one writer thread that commits concurrent writes together.

#include <chrono>
#include <condition_variable>
#include <exception>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite_database.hpp"
#include "store/store_probe.hpp"

namespace flint::store {

/// Opens `<data_dir>/flint.db` (WAL), applies the migrations, and serves
/// reads and writes.
///
/// Writes are group-committed: every write queued while a commit is in
/// progress goes into the next transaction, so many writers share one fsync,
/// and a failing write fails alone: when one throws, the group is rolled back
/// and run again with each write in its own savepoint. `write` returns once
/// its transaction is durable (per `synchronous`).
/// Thread-safe. Blocking: call it from driver threads or workers, never from
/// a network thread.
class Store {
 public:
  /// Where and how durably to store.
  struct Options {
    /// Directory of the database files (created if missing).
    std::filesystem::path data_dir;
    /// `full` (default) survives a power loss; `normal` survives a process crash.
    Synchronous synchronous = Synchronous::full;
    /// Counts and times the group commits; none when null (tools, tests).
    /// Must outlive the store.
    StoreProbe* probe = nullptr;
  };

  /// A unit of work run inside a write transaction. It may run twice (when
  /// another write of its group fails, the group runs again): it must leave
  /// what it captured as one run would (assign results, do not append them),
  /// and must not move from its captures.
  using Write = std::function<void(Database&)>;

  /// Opens and migrates the database.
  /// @throws SqliteError naming the path when the directory or the database
  ///         cannot be created, opened or migrated; std::system_error when
  ///         the writer thread cannot be started.
  Store(Options options, std::span<const Migration> migrations);
  /// Commits what is queued and stops the writer.
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  /// Runs `write` in a transaction and returns once it is committed.
  /// @throws what `write` threw (its changes are rolled back), or SqliteError
  ///         when the commit fails (`disk_full()` when the disk is full).
  void write(Write write);

  /// Called once a write is committed (null) or failed (what `write` threw,
  /// or the commit's SqliteError). Runs on the writer thread: it must be
  /// quick and must not write to the store (hand the result over instead).
  using Done = std::function<void(std::exception_ptr failure)>;

  /// Queues `write` like `write` does, without waiting: `done` tells the
  /// outcome. Lets a caller wait for durability without holding a thread
  /// (a coroutine awaiting it). Never blocks for long; `done` may run
  /// before this returns (a stopping store).
  void write_async(Write write, Done done);

  /// Runs `read` on the read connection (sees every committed write).
  /// A read that finds the file damaged is remembered (see `damage`).
  template <class Read>
  auto read(Read&& read) {
    std::lock_guard lock(read_mutex_);
    try {
      return read(*reader_);
    } catch (const SqliteError& e) {
      note_damage(e);
      throw;
    }
  }

  /// Path of the database file.
  const std::filesystem::path& path() const noexcept { return path_; }

  /// Why the store cannot write, while it cannot (see `write_failure`).
  struct WriteFailure {
    /// SQLite's message of the latest failure (`.../flint.db: database or disk is full`).
    std::string error;
    /// When the first failure since the last successful write happened.
    std::chrono::system_clock::time_point since;
  };
  /// Set while writes fail for want of space or by an I/O error
  /// (`SQLITE_FULL`, `SQLITE_IOERR`): from such a failure of a write or of
  /// its commit until a write is committed again. Thread-safe.
  std::optional<WriteFailure> write_failure() const;

  /// SQLite's message of the first read or write that found `flint.db`
  /// damaged (`SQLITE_CORRUPT`, `SQLITE_NOTADB`), for the rest of the
  /// process's life: a damaged file does not mend itself. Empty while none
  /// did. Thread-safe.
  std::string damage() const;

  /// Remembers `error` as the store's `damage` when it says the file is
  /// damaged; ignores it otherwise. For the readers of `flint.db` with a
  /// connection of their own (the outbox relay), so that what they find
  /// shows in health too. Thread-safe.
  void note_damage(const SqliteError& error);

 private:
  struct Pending {
    Write write;
    Done done;
  };
  void run_writer();
  // `queued_at`: when the oldest write of `batch` was queued.
  void commit(std::vector<Pending>& batch, std::chrono::steady_clock::time_point queued_at);
  // The whole group in one transaction; false (rolled back) when a write threw.
  bool commit_bare(std::vector<Pending>& batch);
  // Each write in its own savepoint; a throwing write's failure goes to `failures`.
  void commit_isolated(std::vector<Pending>& batch, std::vector<std::exception_ptr>& failures);
  // Keeps `write_failure` up to date after a batch.
  void note_outcome(std::span<const std::exception_ptr> failures);

  std::filesystem::path path_;
  std::unique_ptr<Database> writer_db_;
  std::unique_ptr<Database> reader_;
  std::mutex read_mutex_;
  std::mutex queue_mutex_;
  std::condition_variable queue_ready_;
  std::vector<Pending> queue_;
  std::chrono::steady_clock::time_point queued_at_;  // of the oldest write in `queue_`
  bool stopping_ = false;
  mutable std::mutex failure_mutex_;
  std::optional<WriteFailure> write_failure_;
  std::string damage_;
  StoreProbe* probe_;
  std::thread writer_;
};

}  // namespace flint::store
