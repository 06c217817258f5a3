#pragma once

/// @file
/// `flint backup`: a restorable copy of a data directory, taken while Flint
/// runs (or not), without stopping or slowing its writes for long.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace flint::store {

/// What to copy, and where.
struct BackupRequest {
  /// The data directory (`store.data_dir`).
  std::filesystem::path data_dir;
  /// The new directory the copy goes to: it must not exist, its parent must.
  /// The copy is assembled beside it (`<destination>.partial-XXXXXX`) and
  /// renamed into place once complete and synced: `destination` appears
  /// whole or not at all.
  std::filesystem::path destination;
  /// Copy `credentials.key` from the data directory; false when
  /// `store.key_file` names a key kept elsewhere (a mounted secret).
  bool copy_key = true;
  /// Directories of file records kept in the data directory, relative to it
  /// (the netns driver's `netns/tasks`...), copied file by file. Their
  /// writers replace each file atomically (a `.tmp` file renamed into
  /// place), so each copied file is whole; `.tmp` files are left out.
  std::vector<std::filesystem::path> record_dirs;
  /// When given and it turns non-zero (a signal handler may set it), the
  /// copy stops within moments and throws `BackupInterrupted`.
  const std::atomic<int>* stop = nullptr;
};

/// `destination` cannot be used: a usage error (`flint backup` exits 2).
struct BackupDestinationError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// `BackupRequest::stop` was set: the copy stopped, and its parts are gone.
struct BackupInterrupted : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// What was copied.
struct BackupReport {
  /// One copied database.
  struct Database {
    std::string name;          ///< `flint.db`, `events.db`
    std::uintmax_t bytes = 0;  ///< size of the copy (compacted: free pages left out)
    int schema_version = 0;    ///< its `PRAGMA user_version`
  };
  /// The data directory, absolute.
  std::filesystem::path data_dir;
  /// The copy, absolute.
  std::filesystem::path destination;
  std::vector<Database> databases;
  /// `credentials.key` was copied (false: not asked, or not in the directory).
  bool key_copied = false;
  /// Files copied from `record_dirs`.
  std::size_t record_files = 0;
};

/// Copies the data directory into `request.destination`: `flint.db`, then
/// the record directories, then `events.db`, each database as one
/// consistent snapshot (SQLite's `VACUUM INTO` over a read-only connection,
/// which never blocks Flint's writer), checked (`PRAGMA quick_check`) and
/// synced; then the key. The copy is itself a data directory (0700, files
/// 0600) that `flint serve` can start on.
///
/// Why that order: the outbox in `flint.db` hands events over to
/// `events.db`. An event handed over between the two snapshots is then in
/// both copies (the restored relay sends it again, and the event log keeps
/// one: it refuses an id it holds), never in neither.
///
/// While it reads, a running Flint's WAL grows, as its checkpoints cannot
/// pass the snapshot being read; a Flint that starts meanwhile starts beside
/// it (`DataDirectory` knows a `flint backup` from an older Flint), unless
/// its start has a schema to migrate.
///
/// @throws BackupDestinationError for a `destination` that is empty, exists,
///         has no parent directory or lies inside the data directory;
///         BackupInterrupted once `stop` is set; std::runtime_error (or
///         `SqliteError`) naming the file and the problem otherwise.
///         Nothing is left at `destination` or beside it then.
BackupReport back_up_data_directory(const BackupRequest& request);

}  // namespace flint::store
