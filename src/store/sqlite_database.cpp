#include "store/sqlite_database.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "logging/logging.hpp"
#include "store/wal_coalescing_vfs.hpp"

namespace flint::store {
namespace {

// The errno behind the last error of `db` when it is an I/O error or a file
// that cannot be opened; else 0.
int io_errno(sqlite3* db) {
  if (db == nullptr) return 0;
  // "unable to open database file" too: out of descriptors is not a mode to fix.
  const int code = sqlite3_extended_errcode(db) & 0xff;
  if (code != SQLITE_IOERR && code != SQLITE_CANTOPEN) return 0;
  return sqlite3_system_errno(db);
}

// `message` (SQLite's text of the last error of `db`) with the system's
// error when SQLite says no more than "disk I/O error": a write that failed
// for want of space where SQLite does not expect it (sizing the -shm file
// when a database is opened) comes as SQLITE_IOERR, which would send an
// operator looking for a hardware fault.
std::string with_system_error(sqlite3* db, std::string message) {
  const int error = io_errno(db);
  if (error == ENOSPC || error == EDQUOT) {
    return fmt::format("{} ({}: the disk is full)", message, std::strerror(error));
  }
  if (error != 0) return fmt::format("{} ({})", message, std::strerror(error));
  return message;
}

[[noreturn]] void fail(sqlite3* db, int code, std::string_view what) {
  throw SqliteError(
      sqlite3_extended_errcode(db) ? sqlite3_extended_errcode(db) : code,
      fmt::format("{}: {}", what,
                  db ? with_system_error(db, sqlite3_errmsg(db)) : sqlite3_errstr(code)),
      io_errno(db));
}

// Process-wide settings, applied once before SQLite's first use (later they
// are refused), and the VFS every connection opens with. Memory statistics
// off: with them, every allocation of every connection takes one global
// mutex, which the store writer and the outbox relay contended for under load.
void configure_sqlite_once() {
  static const int configured = [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    return sqlite3_initialize();
  }();
  if (configured != SQLITE_OK) {
    throw SqliteError(configured,
                      fmt::format("cannot initialize SQLite: {}", sqlite3_errstr(configured)));
  }
  register_wal_coalescing_vfs();
}

// A database holds outputs and topology in clear: the owner's alone. One an
// older Flint created under the umask (0644) is tightened, with a word.
void make_private(const std::filesystem::path& database) {
  for (const std::string suffix : {"", "-wal", "-shm"}) {
    const std::string file = database.string() + suffix;
    struct stat info {};
    if (::stat(file.c_str(), &info) != 0 || (info.st_mode & 077) == 0) continue;
    if (::chmod(file.c_str(), 0600) == 0) {
      logging::logger("store")->warn(
          "{} was mode {:04o}, open to other users: made it 0600 (it holds execution data in "
          "clear)",
          file, info.st_mode & 07777);
    } else {
      logging::logger("store")->warn(
          "{} is mode {:04o}, open to other users, and cannot be made 0600: {} (it holds "
          "execution data in clear; chmod 600 it)",
          file, info.st_mode & 07777, std::strerror(errno));
    }
  }
}

}  // namespace

// Another process that has the WAL database `database` open, or 0. While a
// connection is open, SQLite's unix VFS holds a read lock on one byte of the
// -shm file (its "dead man switch", byte 128). Found in /proc/locks, not by
// F_GETLK: opening and closing the file here would drop this process's own
// locks on it (POSIX locks belong to the process, not the descriptor).
pid_t other_process_with(const std::filesystem::path& database,
                         const std::function<bool(pid_t)>& allowed) {
  constexpr long kDeadManSwitch = 128;
  struct stat shm {};
  if (::stat((database.string() + "-shm").c_str(), &shm) != 0) return 0;
  std::ifstream locks("/proc/locks");
  for (std::string line; std::getline(locks, line);) {
    // "1: POSIX  ADVISORY  READ 1234 08:01:5678 128 128"
    std::istringstream fields(line);
    std::string number, kind, mode, access, file, start, end;
    long pid = 0;
    if (!(fields >> number >> kind >> mode >> access >> pid >> file >> start >> end)) continue;
    if (kind != "POSIX" || pid == ::getpid()) continue;
    // MAJOR:MINOR:INODE, the device in hexadecimal.
    if (file != fmt::format("{:02x}:{:02x}:{}", major(shm.st_dev), minor(shm.st_dev), shm.st_ino)) {
      continue;
    }
    const long first = std::stol(start);
    const long last = end == "EOF" ? std::numeric_limits<long>::max() : std::stol(end);
    if (first > kDeadManSwitch || kDeadManSwitch > last) continue;
    if (!allowed || !allowed(static_cast<pid_t>(pid))) return static_cast<pid_t>(pid);
  }
  return 0;
}

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db), statement_(nullptr) {
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &statement_, nullptr);
  if (rc != SQLITE_OK) fail(db, rc, fmt::format("preparing `{}`", sql.substr(0, 60)));
}

Statement::~Statement() {
  if (in_use_ != nullptr) {
    // Borrowed from the connection's cache: ready it for the next borrower.
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
    *in_use_ = false;
  } else {
    sqlite3_finalize(statement_);
  }
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), statement_(other.statement_), in_use_(other.in_use_) {
  other.statement_ = nullptr;
  other.in_use_ = nullptr;
}

Statement& Statement::bind(int index, std::int64_t value) {
  if (const int rc = sqlite3_bind_int64(statement_, index, value); rc != SQLITE_OK) {
    fail(db_, rc, "binding");
  }
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  if (const int rc = sqlite3_bind_text64(statement_, index, text.data(), text.size(),
                                         SQLITE_TRANSIENT, SQLITE_UTF8);
      rc != SQLITE_OK) {
    fail(db_, rc, "binding");
  }
  return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
  if (const int rc =
          sqlite3_bind_blob64(statement_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
      rc != SQLITE_OK) {
    fail(db_, rc, "binding");
  }
  return *this;
}

Statement& Statement::bind_null(int index) {
  if (const int rc = sqlite3_bind_null(statement_, index); rc != SQLITE_OK)
    fail(db_, rc, "binding");
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(statement_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const int code = sqlite3_extended_errcode(db_);
  // Which database: Flint has two, and "database disk image is malformed"
  // alone sends an operator to neither.
  std::string message = fmt::format("{}: {}", sqlite3_db_filename(db_, "main"),
                                    with_system_error(db_, sqlite3_errmsg(db_)));
  const int system_error = io_errno(db_);
  sqlite3_reset(statement_);
  throw SqliteError(code, std::move(message), system_error);
}

void Statement::run() {
  while (step()) {
  }
  reset();
}

void Statement::reset() noexcept {
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
}

std::int64_t Statement::column_int(int column) const noexcept {
  return sqlite3_column_int64(statement_, column);
}

std::string_view Statement::column_text(int column) const noexcept {
  const auto* text = sqlite3_column_blob(statement_, column);
  const int size = sqlite3_column_bytes(statement_, column);
  return text ? std::string_view(static_cast<const char*>(text), static_cast<std::size_t>(size))
              : std::string_view();
}

bool Statement::column_is_null(int column) const noexcept {
  return sqlite3_column_type(statement_, column) == SQLITE_NULL;
}

Database::Database(const std::filesystem::path& path, Synchronous synchronous) : path_(path) {
  configure_sqlite_once();
  std::error_code ignored;
  const bool created = !std::filesystem::exists(path, ignored);
  // SQLite names neither the file nor the reason ("unable to open database
  // file", later for the WAL or index file): a restore as root leaves files
  // Flint's user may not open.
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const std::string file = path.string() + suffix;
    // access(2): see prepare_private_directory for why EPERM is no answer.
    if (::access(file.c_str(), R_OK | W_OK) != 0 && errno != ENOENT && errno != EPERM &&
        errno != ENOSYS) {
      const int error = errno;
      throw SqliteError(SQLITE_CANTOPEN,
                        fmt::format("cannot open {} for writing: {}; check its mode and owner",
                                    file, std::strerror(error)),
                        error);
    }
  }
  open(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, kWalCoalescingVfs);
  // SQLite opens a file it may not write read-only, without an error: every
  // write would then fail while the host looked healthy.
  if (sqlite3_db_readonly(db_, "main") == 1) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw SqliteError(SQLITE_READONLY,
                      fmt::format("cannot open database {} for writing: check the mode and owner "
                                  "of it and of its -wal and -shm files",
                                  path.string()));
  }
  // A new database is the owner's alone (it holds outputs and topology), and
  // SQLite gives its WAL and index files the same mode when it creates them.
  if (created) {
    ::chmod(path.c_str(), 0600);
  } else {
    make_private(path);
  }
  sqlite3_extended_result_codes(db_, 1);
  // Other connections (readers, the event log) may hold the lock briefly.
  sqlite3_busy_timeout(db_, 5000);
  try {
    // temp_store=MEMORY also keeps the statement journals in memory: when a
    // write of a group commit fails, the group runs again with a savepoint
    // per write, and SQLite saves every page a savepoint changes to that
    // journal, a temporary file otherwise (two pwrite calls per page).
    exec("PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;");
    exec(synchronous == Synchronous::full ? "PRAGMA synchronous=FULL;"
                                          : "PRAGMA synchronous=NORMAL;");
  } catch (...) {
    // Not a database, or unwritable: the destructor will not run; close here.
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw;
  }
}

Database::Database(const std::filesystem::path& path, ReadOnly) : path_(path) {
  configure_sqlite_once();
  // SQLite says no more than "unable to open database file".
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    throw SqliteError(SQLITE_CANTOPEN,
                      fmt::format("cannot open database {}: {}", path.string(),
                                  error ? error.message() : "no such file"),
                      error.value());
  }
  open(SQLITE_OPEN_READONLY, nullptr);
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, 5000);
}

void Database::open(int flags, const char* vfs) {
  const int rc = sqlite3_open_v2(path_.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, vfs);
  if (rc != SQLITE_OK) {
    const std::string message =
        db_ ? with_system_error(db_, sqlite3_errmsg(db_)) : sqlite3_errstr(rc);
    const int system_error = io_errno(db_);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw SqliteError(rc, fmt::format("cannot open database {}: {}", path_.string(), message),
                      system_error);
  }
}

Database::~Database() {
  for (auto& [sql, cached] : cache_) sqlite3_finalize(cached.statement);
  sqlite3_close_v2(db_);
}

Statement Database::prepare(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    Statement fresh(db_, sql);  // throws on a bad statement; nothing cached then
    it = cache_.emplace(std::string(sql), Cached{}).first;
    std::swap(it->second.statement, fresh.statement_);
  }
  if (it->second.in_use) return Statement(db_, sql);  // nested use of the same SQL
  it->second.in_use = true;
  return Statement(db_, it->second.statement, &it->second.in_use);
}

void Database::exec(std::string_view sql) {
  char* error = nullptr;
  const std::string text(sql);
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    const std::string message = with_system_error(db_, error ? error : sqlite3_errstr(rc));
    sqlite3_free(error);
    throw SqliteError(sqlite3_extended_errcode(db_), fmt::format("{}: {}", path_.string(), message),
                      io_errno(db_));
  }
}

int Database::schema_version() {
  Statement statement(db_, "PRAGMA user_version");
  statement.step();
  return static_cast<int>(statement.column_int(0));
}

int Database::known_schema_version(int newest) {
  const int current = schema_version();
  if (current > newest) {
    throw SqliteError(SQLITE_ERROR,
                      fmt::format("{}: schema version {} is newer than this flint knows ({}); "
                                  "refusing to downgrade",
                                  path_.string(), current, newest));
  }
  return current;
}

void Database::migrate(std::span<const Migration> migrations) {
  const int newest = migrations.empty() ? 0 : migrations.back().version;
  const int current = known_schema_version(newest);
  // A migration changes what another process reading or writing the same
  // file expects (an older Flint, from before flint.lock, say).
  if (current > 0 && current < newest) {
    if (const pid_t other = other_process_with(path_)) {
      throw SqliteError(
          SQLITE_BUSY,
          fmt::format("{}: its schema must be migrated (version {} to {}), but process {} has it "
                      "open (an older Flint, or a flint backup?): let it end first; nothing was "
                      "changed",
                      path_.string(), current, newest, other));
    }
  }
  // Every step in one transaction: a step that fails leaves the file as it was, which the
  // binary that wrote it can still open.
  Transaction transaction(*this);
  for (const Migration& migration : migrations) {
    if (migration.version <= current) continue;
    try {
      exec(migration.sql);
      exec(fmt::format("PRAGMA user_version = {}", migration.version));
    } catch (const SqliteError& e) {
      throw SqliteError(e.code(), fmt::format("migration to schema version {} failed: {}",
                                              migration.version, e.what()));
    }
  }
  transaction.commit();
  if (current > 0 && current < newest) {
    // The moment an older binary stops being able to open it.
    logging::logger("store")->info("{}: migrated from schema version {} to {}", path_.string(),
                                   current, newest);
  }
}

void Database::sync_wal() {
  // In WAL mode SQLite's journal file is the WAL: its own sync, through the
  // VFS (which writes out what it still buffers first).
  sqlite3_file* wal = nullptr;
  int rc = sqlite3_file_control(db_, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal);
  if (rc == SQLITE_OK && wal != nullptr && wal->pMethods != nullptr) {
    rc = wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL);
  }
  if (rc != SQLITE_OK) {
    throw SqliteError(
        rc, fmt::format("{}: cannot sync the WAL: {}", path_.string(), sqlite3_errstr(rc)));
  }
}

std::int64_t Database::changes() const noexcept {
  return sqlite3_changes64(db_);
}

Transaction::Transaction(Database& db) : db_(db) {
  db_.prepare("BEGIN IMMEDIATE").run();
}

Transaction::~Transaction() {
  if (!done_) {
    try {
      db_.prepare("ROLLBACK").run();
    } catch (...) {  // the connection is unusable anyway; nothing better to do
    }
  }
}

void Transaction::commit() {
  db_.prepare("COMMIT").run();
  done_ = true;
}

}  // namespace flint::store
