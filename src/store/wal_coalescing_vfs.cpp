#include "store/wal_coalescing_vfs.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>

#include <sqlite3.h>

#include "store/sqlite_database.hpp"

namespace flint::store {
namespace {

// The most SQLite's unix VFS writes in one call (it masks larger sizes to
// 17 bits, since SQLite itself never writes more than a 64 KiB page): about
// fifteen 4 KiB frames per system call.
constexpr std::size_t kMaxBuffered = 64 * 1024;

// The size of a WAL frame header; its bytes 4-7 hold the database size after
// the commit, non-zero only in the commit's last frame.
constexpr int kFrameHeaderSize = 24;

sqlite3_vfs* g_default = nullptr;

// Our file: the methods SQLite calls, the buffer, then the default VFS's own
// file object (szOsFile bytes), which does the real work.
struct File {
  sqlite3_file base;
  std::string* buffer;          // pending appends; owned, and null but for a WAL file
  sqlite3_int64 buffer_offset;  // file offset of buffer[0]
  bool commit_frame_next;       // the header just appended ends a commit
  // A main database file and the WAL file of the same connection, while both
  // are open: the database's lock calls flush its WAL (see x_shm_lock).
  File* partner;
  const char* database_name;  // a main database's name as SQLite passed it
  alignas(8) unsigned char real_storage[1];

  sqlite3_file* real() noexcept { return reinterpret_cast<sqlite3_file*>(real_storage); }
};

constexpr std::size_t kFileHeader = offsetof(File, real_storage);

// Open main database files by the name SQLite opened them with: a WAL file's
// name leads back to that same pointer (sqlite3_filename_database), which
// tells the connection it belongs to.
std::mutex g_databases_mutex;
std::unordered_map<const char*, File*> g_databases;

File* file_of(sqlite3_file* file) noexcept {
  return reinterpret_cast<File*>(file);
}

// Writes what is pending. The buffer is empty afterwards whatever happens:
// a failed write is reported once, by the call that triggered it, as SQLite
// would have seen it from the original writes.
int flush(File* file) noexcept {
  if (!file->buffer || file->buffer->empty()) return SQLITE_OK;
  sqlite3_file* real = file->real();
  const int rc = real->pMethods->xWrite(
      real, file->buffer->data(), static_cast<int>(file->buffer->size()), file->buffer_offset);
  file->buffer->clear();
  return rc;
}

int x_close(sqlite3_file* handle) {
  File* file = file_of(handle);
  {
    std::lock_guard lock(g_databases_mutex);
    if (file->partner) file->partner->partner = nullptr;
    if (file->database_name) g_databases.erase(file->database_name);
  }
  const int rc = flush(file);
  sqlite3_file* real = file->real();
  const int closed = real->pMethods ? real->pMethods->xClose(real) : SQLITE_OK;
  delete file->buffer;
  file->buffer = nullptr;
  return rc != SQLITE_OK ? rc : closed;
}

// The default VFS file's method `Method`, with the same arguments. `flushed`
// writes the pending appends first, since the call may read, sync, measure
// or lock what they hold; `passed` does not.
template <auto Method, class... Args>
auto flushed(sqlite3_file* handle, Args... args) {
  File* file = file_of(handle);
  if (const int rc = flush(file); rc != SQLITE_OK) return rc;
  return (file->real()->pMethods->*Method)(file->real(), args...);
}

template <auto Method, class... Args>
auto passed(sqlite3_file* handle, Args... args) {
  File* file = file_of(handle);
  return (file->real()->pMethods->*Method)(file->real(), args...);
}

int x_write(sqlite3_file* handle, const void* data, int amount, sqlite3_int64 offset) {
  File* file = file_of(handle);
  sqlite3_file* real = file->real();
  if (!file->buffer) return real->pMethods->xWrite(real, data, amount, offset);
  std::string& buffer = *file->buffer;
  const auto size = static_cast<std::size_t>(amount);
  const bool follows = offset == file->buffer_offset + static_cast<sqlite3_int64>(buffer.size());
  if (!buffer.empty() && (!follows || buffer.size() + size > kMaxBuffered)) {
    if (const int rc = flush(file); rc != SQLITE_OK) return rc;
  }
  if (size > kMaxBuffered) return real->pMethods->xWrite(real, data, amount, offset);
  if (buffer.empty()) file->buffer_offset = offset;
  buffer.append(static_cast<const char*>(data), size);
  // The page that follows a commit frame's header is the commit's last
  // write: it goes out now, and its error (a full disk) is this call's.
  if (file->commit_frame_next) {
    file->commit_frame_next = false;
    return flush(file);
  }
  if (amount == kFrameHeaderSize) {
    const auto* header = static_cast<const unsigned char*>(data);
    file->commit_frame_next = (header[4] | header[5] | header[6] | header[7]) != 0;
  }
  return SQLITE_OK;
}

// SQLite takes and releases its WAL locks through the database file. A write
// transaction that spilled frames into the WAL and then rolled back leaves
// them pending here, beyond the WAL's end: they are written before the lock
// that ends the transaction is released, so they can never land after
// another connection committed frames at the same place.
int x_shm_lock(sqlite3_file* handle, int offset, int n, int flags) {
  File* file = file_of(handle);
  if (file->partner) {
    const int flushed = flush(file->partner);
    if (flushed != SQLITE_OK && (flags & SQLITE_SHM_LOCK)) return flushed;
  }
  return file->real()->pMethods->xShmLock(file->real(), offset, n, flags);
}

using Methods = sqlite3_io_methods;
constexpr Methods kMethods = {
    3,
    x_close,
    flushed<&Methods::xRead, void*, int, sqlite3_int64>,
    x_write,
    flushed<&Methods::xTruncate, sqlite3_int64>,
    flushed<&Methods::xSync, int>,
    flushed<&Methods::xFileSize, sqlite3_int64*>,
    flushed<&Methods::xLock, int>,
    flushed<&Methods::xUnlock, int>,
    passed<&Methods::xCheckReservedLock, int*>,
    flushed<&Methods::xFileControl, int, void*>,
    passed<&Methods::xSectorSize>,
    passed<&Methods::xDeviceCharacteristics>,
    passed<&Methods::xShmMap, int, int, int, void volatile**>,
    x_shm_lock,
    passed<&Methods::xShmBarrier>,
    passed<&Methods::xShmUnmap, int>,
    flushed<&Methods::xFetch, sqlite3_int64, int, void**>,
    passed<&Methods::xUnfetch, sqlite3_int64, void*>,
};

int x_open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* handle, int flags,
           int* out_flags) {
  (void)vfs;
  File* file = file_of(handle);
  file->base.pMethods = nullptr;
  file->buffer = nullptr;
  file->buffer_offset = 0;
  file->commit_frame_next = false;
  file->partner = nullptr;
  file->database_name = nullptr;
  sqlite3_file* real = file->real();
  std::memset(real, 0, static_cast<std::size_t>(g_default->szOsFile));
  const int rc = g_default->xOpen(g_default, name, real, flags, out_flags);
  if (rc != SQLITE_OK) {
    // SQLite calls xClose only on files whose methods are set: close the
    // real one here if it got so far.
    if (real->pMethods) real->pMethods->xClose(real);
    return rc;
  }
  if (real->pMethods->iVersion < kMethods.iVersion) {
    // Every method below is forwarded: the default VFS must have them all
    // (Unix's does).
    real->pMethods->xClose(real);
    return SQLITE_CANTOPEN;
  }
  if (flags & SQLITE_OPEN_WAL) {
    file->buffer = new (std::nothrow) std::string();
    if (!file->buffer) {
      real->pMethods->xClose(real);
      return SQLITE_NOMEM;
    }
  }
  if (name) {
    std::lock_guard lock(g_databases_mutex);
    if (flags & SQLITE_OPEN_MAIN_DB) {
      file->database_name = name;
      g_databases[name] = file;
    } else if (flags & SQLITE_OPEN_WAL) {
      const auto database = g_databases.find(sqlite3_filename_database(name));
      if (database != g_databases.end()) {
        file->partner = database->second;
        database->second->partner = file;
      }
    }
  }
  file->base.pMethods = &kMethods;
  return SQLITE_OK;
}

}  // namespace

void register_wal_coalescing_vfs() {
  static const int registered = [] {
    g_default = sqlite3_vfs_find(nullptr);
    if (!g_default) return SQLITE_ERROR;
    static sqlite3_vfs vfs = *g_default;
    vfs.szOsFile = static_cast<int>(kFileHeader) + g_default->szOsFile;
    vfs.pNext = nullptr;
    vfs.zName = kWalCoalescingVfs;
    vfs.xOpen = x_open;
    return sqlite3_vfs_register(&vfs, /*makeDflt=*/0);
  }();
  if (registered != SQLITE_OK) {
    throw SqliteError(registered,
                      "cannot register the SQLite VFS " + std::string(kWalCoalescingVfs));
  }
}

}  // namespace flint::store
