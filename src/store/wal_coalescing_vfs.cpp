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
  int rc = flush(file);
  sqlite3_file* real = file->real();
  const int closed = real->pMethods ? real->pMethods->xClose(real) : SQLITE_OK;
  delete file->buffer;
  file->buffer = nullptr;
  return rc != SQLITE_OK ? rc : closed;
}

int x_read(sqlite3_file* handle, void* data, int amount, sqlite3_int64 offset) {
  File* file = file_of(handle);
  if (const int rc = flush(file); rc != SQLITE_OK) return rc;
  return file->real()->pMethods->xRead(file->real(), data, amount, offset);
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

int x_truncate(sqlite3_file* handle, sqlite3_int64 size) {
  File* file = file_of(handle);
  if (const int rc = flush(file); rc != SQLITE_OK) return rc;
  return file->real()->pMethods->xTruncate(file->real(), size);
}

int x_sync(sqlite3_file* handle, int flags) {
  File* file = file_of(handle);
  if (const int rc = flush(file); rc != SQLITE_OK) return rc;
  return file->real()->pMethods->xSync(file->real(), flags);
}

int x_file_size(sqlite3_file* handle, sqlite3_int64* size) {
  File* file = file_of(handle);
  if (const int rc = flush(file); rc != SQLITE_OK) return rc;
  return file->real()->pMethods->xFileSize(file->real(), size);
}

int x_lock(sqlite3_file* handle, int level) {
  File* file = file_of(handle);
  if (const int rc = flush(file); rc != SQLITE_OK) return rc;
  return file->real()->pMethods->xLock(file->real(), level);
}

int x_unlock(sqlite3_file* handle, int level) {
  File* file = file_of(handle);
  if (const int rc = flush(file); rc != SQLITE_OK) return rc;
  return file->real()->pMethods->xUnlock(file->real(), level);
}

int x_check_reserved_lock(sqlite3_file* handle, int* out) {
  File* file = file_of(handle);
  return file->real()->pMethods->xCheckReservedLock(file->real(), out);
}

int x_file_control(sqlite3_file* handle, int op, void* arg) {
  File* file = file_of(handle);
  if (const int rc = flush(file); rc != SQLITE_OK) return rc;
  return file->real()->pMethods->xFileControl(file->real(), op, arg);
}

int x_sector_size(sqlite3_file* handle) {
  File* file = file_of(handle);
  return file->real()->pMethods->xSectorSize(file->real());
}

int x_device_characteristics(sqlite3_file* handle) {
  File* file = file_of(handle);
  return file->real()->pMethods->xDeviceCharacteristics(file->real());
}

int x_shm_map(sqlite3_file* handle, int page, int size, int extend, void volatile** out) {
  File* file = file_of(handle);
  return file->real()->pMethods->xShmMap(file->real(), page, size, extend, out);
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

void x_shm_barrier(sqlite3_file* handle) {
  File* file = file_of(handle);
  file->real()->pMethods->xShmBarrier(file->real());
}

int x_shm_unmap(sqlite3_file* handle, int delete_flag) {
  File* file = file_of(handle);
  return file->real()->pMethods->xShmUnmap(file->real(), delete_flag);
}

int x_fetch(sqlite3_file* handle, sqlite3_int64 offset, int amount, void** out) {
  File* file = file_of(handle);
  if (const int rc = flush(file); rc != SQLITE_OK) return rc;
  return file->real()->pMethods->xFetch(file->real(), offset, amount, out);
}

int x_unfetch(sqlite3_file* handle, sqlite3_int64 offset, void* page) {
  File* file = file_of(handle);
  return file->real()->pMethods->xUnfetch(file->real(), offset, page);
}

constexpr sqlite3_io_methods kMethods = {
    3,
    x_close,
    x_read,
    x_write,
    x_truncate,
    x_sync,
    x_file_size,
    x_lock,
    x_unlock,
    x_check_reserved_lock,
    x_file_control,
    x_sector_size,
    x_device_characteristics,
    x_shm_map,
    x_shm_lock,
    x_shm_barrier,
    x_shm_unmap,
    x_fetch,
    x_unfetch,
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
    vfs.iVersion = g_default->iVersion;
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
