#pragma once

/// @file
/// A thin RAII layer over SQLite: connections, prepared statements,
/// transactions and versioned migrations.

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

#include <sqlite3.h>
#include <sys/types.h>

#include <flint/sdk/string_hash.hpp>

namespace flint::store {

/// A failed SQLite call, with SQLite's result code and message.
class SqliteError : public std::runtime_error {
 public:
  /// `system_error`: the errno behind an I/O error (`sqlite3_system_errno`), 0 if none.
  SqliteError(int code, const std::string& message, int system_error = 0)
      : std::runtime_error(message), code_(code), system_error_(system_error) {}
  /// The primary result code (`SQLITE_FULL`, `SQLITE_BUSY`...).
  int code() const noexcept { return code_ & 0xff; }
  /// The extended result code (`SQLITE_CONSTRAINT_UNIQUE`...).
  int extended_code() const noexcept { return code_; }
  /// True when the disk (or the database's size limit) is full: SQLite
  /// says so, or an I/O error it did not expect failed for want of space
  /// (sizing the -shm file, say).
  bool disk_full() const noexcept {
    return code() == SQLITE_FULL ||
           (code() == SQLITE_IOERR && (system_error_ == ENOSPC || system_error_ == EDQUOT));
  }

 private:
  int code_;
  int system_error_;
};

class Database;

/// A prepared statement. Bind parameters are 1-based, columns 0-based.
/// Owned by one thread at a time.
class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql);
  /// Borrows a statement prepared once and kept by its `Database`: on
  /// destruction it is reset for the next borrower, not finalized.
  Statement(sqlite3* db, sqlite3_stmt* cached, bool* in_use) noexcept
      : db_(db), statement_(cached), in_use_(in_use) {}
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;

  /// Binds values; `std::nullopt` binds NULL.
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::string_view text);
  Statement& bind_blob(int index, std::string_view bytes);
  Statement& bind_null(int index);
  template <class T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }

  /// Advances; true while a row is available.
  /// @throws SqliteError on failure.
  bool step();
  /// Runs a statement that returns no rows, then resets it.
  void run();
  /// Resets for re-execution and clears bindings.
  void reset() noexcept;

  std::int64_t column_int(int column) const noexcept;
  /// Text of a column (valid until the next step/reset); empty for NULL.
  std::string_view column_text(int column) const noexcept;
  bool column_is_null(int column) const noexcept;

 private:
  friend class Database;
  sqlite3* db_;
  sqlite3_stmt* statement_;
  bool* in_use_ = nullptr;  // set when borrowed from the Database's cache
};

/// Durability of commits (`PRAGMA synchronous`).
enum class Synchronous {
  normal,  ///< WAL: survives a process crash (kill -9), not a power loss.
  full,    ///< fsync on every commit: survives a power loss too.
};

/// Another process that has the WAL database `database` open, or 0: an
/// older Flint from before `flint.lock` (or a `sqlite3` shell) still using
/// the data directory. Processes for which `allowed` answers true are passed
/// over. Reads /proc/locks; Linux only.
pid_t other_process_with(const std::filesystem::path& database,
                         const std::function<bool(pid_t)>& allowed = {});

/// One schema migration: those a database lacks are applied in order, all in
/// one transaction.
struct Migration {
  /// Schema version after this migration (1, 2, ...).
  int version;
  /// SQL to run (may contain several statements).
  std::string_view sql;
};

/// One connection to a database file in WAL mode.
///
/// Not thread-safe: use one `Database` per thread, or guard it.
class Database {
 public:
  /// Opens (creating it if needed) the database at `path`.
  /// @throws SqliteError naming the path when it cannot be opened.
  Database(const std::filesystem::path& path, Synchronous synchronous);
  /// Tag of the read-only constructor.
  struct ReadOnly {};
  /// Opens the existing database at `path` for reading only, as it is: no
  /// pragma, no change of mode, SQLite's own VFS. Each transaction reads a
  /// consistent snapshot while another process (a running Flint) writes.
  /// @throws SqliteError naming the path when it is missing or cannot be opened.
  Database(const std::filesystem::path& path, ReadOnly);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  /// Runs SQL without results (several statements allowed).
  void exec(std::string_view sql);
  /// A prepared statement for `sql`. Each distinct SQL text is compiled once
  /// per connection and reused (compiling costs more than running a small
  /// statement); the returned handle resets it when it goes out of scope.
  Statement prepare(std::string_view sql);

  /// Brings the schema to the newest version of `migrations`, in one
  /// transaction: a migration that fails changes nothing.
  /// @throws SqliteError when a migration fails, or when the file's schema is
  ///         newer than this program knows (a downgrade).
  void migrate(std::span<const Migration> migrations);
  /// The schema version (`PRAGMA user_version`).
  int schema_version();
  /// The schema version, checked against the newest one this program knows.
  /// @throws SqliteError naming both when the file's is newer (a downgrade).
  int known_schema_version(int newest);

  /// Makes every transaction committed so far survive a power loss: an
  /// fsync of the WAL, as `synchronous=full` does at each commit. Lets a
  /// connection in `normal` commit often and sync once for many commits.
  /// Nothing to do before the first write (no WAL yet).
  /// @throws SqliteError when the sync fails.
  void sync_wal();

  /// Rows changed by the last statement.
  std::int64_t changes() const noexcept;
  /// The raw handle (for SQLite calls not wrapped here).
  sqlite3* handle() const noexcept { return db_; }

 private:
  // Opens `path_` with `flags` (NOMUTEX added) through `vfs` (null: SQLite's own).
  void open(int flags, const char* vfs);

  struct Cached {
    sqlite3_stmt* statement = nullptr;
    bool in_use = false;
  };
  sqlite3* db_ = nullptr;
  std::filesystem::path path_;
  std::unordered_map<std::string, Cached, sdk::StringHash, std::equal_to<>> cache_;
};

/// A write transaction (`BEGIN IMMEDIATE`), rolled back unless committed.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  /// Commits. @throws SqliteError (e.g. disk full); the transaction is then
  /// rolled back by the destructor.
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace flint::store
