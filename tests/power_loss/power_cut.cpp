// A power cut for tests, preloaded into a process that uses SQLite:
//
//   LD_PRELOAD=libflint_power_cut.so POWER_CUT=1 flint serve ...
//   kill -USR2 <pid>
//
// With POWER_CUT set (not FLINT_*: the host refuses unknown FLINT_* variables), the library puts a
// VFS under every SQLite VFS the process registers later (it becomes SQLite's default, which
// Flint's own VFS wraps). It remembers what each write and truncate of a database, WAL or journal
// file replaced, until a sync of that file makes it durable. On SIGUSR2 it undoes every write not
// yet synced and kills the process with SIGKILL, holding the lock that every write and sync takes,
// so nothing lands in between: the files are left as a power loss would leave them, where a plain
// kill -9 keeps what the page cache holds. With POWER_CUT_SEED set, each unsynced write survives or
// not at random (seeded), as a disk writing back some of its dirty sectors before the power went
// would.
//
// Directory entries are out of its model (a file created or deleted stays so),
// as are files SQLite does not open.

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

namespace {

// What one write or truncate replaced: the bytes it overwrote and the size the
// file had before it.
struct Undo {
  sqlite3_int64 offset;
  std::string bytes;
  sqlite3_int64 size_before;
};

// Held by every tracked write, truncate and sync, and by the cut.
std::mutex g_mutex;
// Unsynced changes by file path: a sync through any handle of a file makes
// all of them durable, as fsync does. Never destroyed (exit order).
auto& g_unsynced = *new std::unordered_map<std::string, std::vector<Undo>>();
sqlite3_vfs* g_base = nullptr;
int g_cut_pipe[2] = {-1, -1};

struct File {
  sqlite3_file base;
  std::string* path;  // owned; null for files not tracked
  alignas(8) unsigned char real_storage[1];

  sqlite3_file* real() noexcept { return reinterpret_cast<sqlite3_file*>(real_storage); }
};
constexpr std::size_t kFileHeader = offsetof(File, real_storage);

File* file_of(sqlite3_file* handle) {
  return reinterpret_cast<File*>(handle);
}

// Records what [offset, offset + amount) holds before it is overwritten.
int remember(File* file, sqlite3_int64 offset, sqlite3_int64 amount) {
  sqlite3_file* real = file->real();
  sqlite3_int64 size = 0;
  if (int rc = real->pMethods->xFileSize(real, &size); rc != SQLITE_OK) return rc;
  Undo undo{offset, {}, size};
  if (offset < size) {
    undo.bytes.resize(static_cast<std::size_t>(std::min(amount, size - offset)));
    const int rc =
        real->pMethods->xRead(real, undo.bytes.data(), static_cast<int>(undo.bytes.size()), offset);
    if (rc != SQLITE_OK) return rc;
  }
  g_unsynced[*file->path].push_back(std::move(undo));
  return SQLITE_OK;
}

int x_close(sqlite3_file* handle) {
  File* file = file_of(handle);
  sqlite3_file* real = file->real();
  const int rc = real->pMethods ? real->pMethods->xClose(real) : SQLITE_OK;
  delete file->path;
  file->path = nullptr;
  return rc;
}

int x_write(sqlite3_file* handle, const void* data, int amount, sqlite3_int64 offset) {
  File* file = file_of(handle);
  sqlite3_file* real = file->real();
  if (!file->path) return real->pMethods->xWrite(real, data, amount, offset);
  std::lock_guard lock(g_mutex);
  if (int rc = remember(file, offset, amount); rc != SQLITE_OK) return rc;
  return real->pMethods->xWrite(real, data, amount, offset);
}

int x_truncate(sqlite3_file* handle, sqlite3_int64 size) {
  File* file = file_of(handle);
  sqlite3_file* real = file->real();
  if (!file->path) return real->pMethods->xTruncate(real, size);
  std::lock_guard lock(g_mutex);
  sqlite3_int64 current = 0;
  if (int rc = real->pMethods->xFileSize(real, &current); rc != SQLITE_OK) return rc;
  if (size < current) {
    if (int rc = remember(file, size, current - size); rc != SQLITE_OK) return rc;
  }
  return real->pMethods->xTruncate(real, size);
}

int x_sync(sqlite3_file* handle, int flags) {
  File* file = file_of(handle);
  sqlite3_file* real = file->real();
  if (!file->path) return real->pMethods->xSync(real, flags);
  std::lock_guard lock(g_mutex);
  const int rc = real->pMethods->xSync(real, flags);
  if (rc == SQLITE_OK) g_unsynced.erase(*file->path);
  return rc;
}

// The other methods pass through to the real file.
template <auto Method, class... Args>
int passed(sqlite3_file* handle, Args... args) {
  sqlite3_file* real = file_of(handle)->real();
  return (real->pMethods->*Method)(real, args...);
}
template <auto Method>
void passed_void(sqlite3_file* handle) {
  sqlite3_file* real = file_of(handle)->real();
  (real->pMethods->*Method)(real);
}

using Methods = sqlite3_io_methods;
const Methods kMethods = {
    3,
    x_close,
    passed<&Methods::xRead, void*, int, sqlite3_int64>,
    x_write,
    x_truncate,
    x_sync,
    passed<&Methods::xFileSize, sqlite3_int64*>,
    passed<&Methods::xLock, int>,
    passed<&Methods::xUnlock, int>,
    passed<&Methods::xCheckReservedLock, int*>,
    passed<&Methods::xFileControl, int, void*>,
    passed<&Methods::xSectorSize>,
    passed<&Methods::xDeviceCharacteristics>,
    passed<&Methods::xShmMap, int, int, int, void volatile**>,
    passed<&Methods::xShmLock, int, int, int>,
    passed_void<&Methods::xShmBarrier>,
    passed<&Methods::xShmUnmap, int>,
    passed<&Methods::xFetch, sqlite3_int64, int, void**>,
    passed<&Methods::xUnfetch, sqlite3_int64, void*>,
};

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* handle, int flags, int* out_flags) {
  File* file = file_of(handle);
  file->base.pMethods = nullptr;
  file->path = nullptr;
  sqlite3_file* real = file->real();
  std::memset(real, 0, static_cast<std::size_t>(g_base->szOsFile));
  const int rc = g_base->xOpen(g_base, name, real, flags, out_flags);
  if (rc != SQLITE_OK) {
    if (real->pMethods) real->pMethods->xClose(real);
    return rc;
  }
  if (real->pMethods->iVersion < kMethods.iVersion) {
    real->pMethods->xClose(real);
    return SQLITE_CANTOPEN;
  }
  constexpr int kDurable = SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL;
  if (name && (flags & kDurable)) file->path = new std::string(name);
  file->base.pMethods = &kMethods;
  return SQLITE_OK;
}

int x_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  std::lock_guard lock(g_mutex);
  g_unsynced.erase(name);
  return g_base->xDelete(g_base, name, sync_dir);
}

void say(const std::string& text) {
  const std::string line = "flint power cut: " + text + "\n";
  [[maybe_unused]] auto written = ::write(STDERR_FILENO, line.data(), line.size());
}

// Undoes the unsynced writes (all, or a seeded random part) and kills the
// process, without letting go of the lock.
[[noreturn]] void cut() {
  g_mutex.lock();
  const char* seed = std::getenv("POWER_CUT_SEED");
  std::mt19937_64 random(seed ? std::strtoull(seed, nullptr, 10) : 0);
  std::size_t undone = 0, kept = 0, files = 0;
  for (auto& [path, changes] : g_unsynced) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) continue;  // deleted meanwhile: nothing to undo
    ++files;
    for (auto undo = changes.rbegin(); undo != changes.rend(); ++undo) {
      if (seed && random() % 2 == 0) {
        ++kept;
        continue;
      }
      ++undone;
      if (!undo->bytes.empty() &&
          ::pwrite(fd, undo->bytes.data(), undo->bytes.size(), undo->offset) < 0) {
        say("cannot undo a write to " + path + ": " + std::strerror(errno));
      }
      if (::ftruncate(fd, undo->size_before) != 0) {
        say("cannot undo a write to " + path + ": " + std::strerror(errno));
      }
    }
    ::close(fd);
  }
  say("undid " + std::to_string(undone) + " unsynced writes (kept " + std::to_string(kept) +
      ") in " + std::to_string(files) + " files");
  ::kill(::getpid(), SIGKILL);
  for (;;) ::pause();
}

void on_cut_signal(int) {
  const char byte = 1;
  [[maybe_unused]] auto written = ::write(g_cut_pipe[1], &byte, 1);
}

__attribute__((constructor)) void install() {
  if (!std::getenv("POWER_CUT")) return;
  // Before SQLite's first use, as the host itself would (it is too late once
  // registering a VFS has initialized SQLite).
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  g_base = sqlite3_vfs_find(nullptr);
  if (!g_base || ::pipe2(g_cut_pipe, O_CLOEXEC) != 0) {
    say("cannot install");
    std::abort();
  }
  static sqlite3_vfs vfs = *g_base;
  vfs.szOsFile = static_cast<int>(kFileHeader) + g_base->szOsFile;
  vfs.pNext = nullptr;
  vfs.zName = "flint-power-cut";
  vfs.xOpen = x_open;
  vfs.xDelete = x_delete;
  if (sqlite3_vfs_register(&vfs, /*makeDflt=*/1) != SQLITE_OK) {
    say("cannot register the VFS");
    std::abort();
  }
  // The cut runs on a thread of its own: a signal handler cannot wait for
  // the lock a write holds.
  std::thread([] {
    char byte = 0;
    for (;;) {
      const auto n = ::read(g_cut_pipe[0], &byte, 1);
      if (n == 1) cut();
      if (n == 0 || (n < 0 && errno != EINTR)) return;
    }
  }).detach();
  struct sigaction action {};
  action.sa_handler = on_cut_signal;
  ::sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  ::sigaction(SIGUSR2, &action, nullptr);
}

}  // namespace
