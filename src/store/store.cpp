#include "store/store.hpp"

#include <algorithm>
#include <system_error>

#include <fmt/format.h>

#include "files/durable.hpp"
#include "logging/thread_name.hpp"
#include "store/data_directory.hpp"

namespace flint::store {

Store::Store(Options options, std::span<const Migration> migrations)
    : path_(options.data_dir / "flint.db"), probe_(options.probe) {
  // Also without a DataDirectory (tools, tests): the same private directory.
  if (const std::error_code ec = files::create_private_directory(options.data_dir)) {
    throw SqliteError(SQLITE_CANTOPEN, fmt::format("cannot create the data directory {}: {}",
                                                   options.data_dir.string(), ec.message()));
  }
  writer_db_ = std::make_unique<Database>(path_, options.synchronous);
  writer_db_->migrate(migrations);
  reader_ = std::make_unique<Database>(path_, options.synchronous);
  writer_ = logging::start_thread("the store's writer thread", [this] { run_writer(); });
}

Store::~Store() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_ready_.notify_all();
  if (writer_.joinable()) writer_.join();
}

void Store::write(Write write) {
  std::promise<void> committed;
  auto done = committed.get_future();
  write_async(std::move(write), [&committed](std::exception_ptr failure) {
    if (failure) {
      committed.set_exception(failure);
    } else {
      committed.set_value();
    }
  });
  done.get();
}

void Store::write_async(Write write, Done done) {
  {
    std::lock_guard lock(queue_mutex_);
    if (stopping_) {
      done(std::make_exception_ptr(SqliteError(SQLITE_MISUSE, "the store is stopping")));
      return;
    }
    if (queue_.empty()) queued_at_ = std::chrono::steady_clock::now();
    queue_.push_back({std::move(write), std::move(done)});
  }
  queue_ready_.notify_one();
}

void Store::run_writer() {
  logging::set_thread_name("store-writer");
  std::vector<Pending> batch;
  for (;;) {
    std::chrono::steady_clock::time_point queued_at;
    {
      std::unique_lock lock(queue_mutex_);
      queue_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      batch.swap(queue_);
      queued_at = queued_at_;
    }
    commit(batch, queued_at);
    batch.clear();
  }
}

void Store::commit(std::vector<Pending>& batch, std::chrono::steady_clock::time_point queued_at) {
  const auto started = std::chrono::steady_clock::now();
  // Writes rarely fail, and a savepoint around each one costs about a fifth
  // of a small write (SQLite copies every page it changes into the savepoint's
  // journal). So the group first runs bare; only when a write throws is it
  // rolled back and run again with a savepoint per write.
  std::vector<std::exception_ptr> failures(batch.size());
  std::exception_ptr commit_failure;
  try {
    if (!commit_bare(batch)) commit_isolated(batch, failures);
  } catch (...) {
    commit_failure = std::current_exception();
  }
  if (probe_ != nullptr) {
    const auto failed =
        commit_failure ? batch.size() : failures.size() - std::ranges::count(failures, nullptr);
    probe_->observe({.wait = started - queued_at,
                     .took = std::chrono::steady_clock::now() - started,
                     .writes = batch.size(),
                     .failed_writes = static_cast<std::size_t>(failed),
                     .committed = !commit_failure});
  }
  // Handed on only after the handler ends: inside it this thread still holds
  // the exception in flight, and the end of the handler may drop the last
  // reference after a waiter has read the exception. The count is atomic, but
  // inside the uninstrumented libstdc++, so ThreadSanitizer took that for a
  // race (tests/tsan.supp covers the drop by an exception_ptr, not this one).
  if (commit_failure) {
    // The commit itself failed (disk full, I/O error): nothing was written.
    note_outcome({&commit_failure, 1});
    for (auto& pending : batch) pending.done(commit_failure);
    return;
  }
  note_outcome(failures);
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i].done(failures[i]);
}

void Store::note_outcome(std::span<const std::exception_ptr> failures) {
  std::optional<std::string> storage_error;
  bool committed = false;
  for (const auto& failure : failures) {
    if (!failure) {
      committed = true;
      continue;
    }
    try {
      std::rethrow_exception(failure);
    } catch (const SqliteError& e) {
      if (e.code() == SQLITE_FULL || e.code() == SQLITE_IOERR) storage_error = e.what();
      note_damage(e);
    } catch (...) {
      // The write's own failure: it says nothing of the disk.
    }
  }
  std::lock_guard lock(failure_mutex_);
  if (storage_error) {
    if (!write_failure_) write_failure_.emplace().since = std::chrono::system_clock::now();
    write_failure_->error = std::move(*storage_error);
  } else if (committed) {
    write_failure_.reset();
  }
}

void Store::note_damage(const SqliteError& error) {
  if (error.code() != SQLITE_CORRUPT && error.code() != SQLITE_NOTADB) return;
  std::lock_guard lock(failure_mutex_);
  if (damage_.empty()) damage_ = error.what();
}

std::string Store::damage() const {
  std::lock_guard lock(failure_mutex_);
  return damage_;
}

std::optional<Store::WriteFailure> Store::write_failure() const {
  std::lock_guard lock(failure_mutex_);
  return write_failure_;
}

bool Store::commit_bare(std::vector<Pending>& batch) {
  Transaction transaction(*writer_db_);
  for (auto& pending : batch) {
    try {
      pending.write(*writer_db_);
    } catch (...) {
      return false;  // the transaction rolls back
    }
  }
  transaction.commit();
  return true;
}

void Store::commit_isolated(std::vector<Pending>& batch,
                            std::vector<std::exception_ptr>& failures) {
  Transaction transaction(*writer_db_);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    writer_db_->prepare("SAVEPOINT one").run();
    try {
      batch[i].write(*writer_db_);
      writer_db_->prepare("RELEASE one").run();
    } catch (...) {
      // SQLite may roll the whole transaction back on SQLITE_FULL, IOERR...:
      // then nothing of the group is left, and the error is everyone's (not
      // the "no such savepoint" of the ROLLBACK TO).
      if (sqlite3_get_autocommit(writer_db_->handle()) != 0) throw;
      failures[i] = std::current_exception();
      writer_db_->prepare("ROLLBACK TO one").run();
      writer_db_->prepare("RELEASE one").run();
    }
  }
  transaction.commit();
}

}  // namespace flint::store
