#include "store/data_directory_backup.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files/durable.hpp"
#include "store/sqlite_database.hpp"

namespace flint::store {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail_with_errno(const std::string& what) {
  throw std::runtime_error(fmt::format("{}: {}", what, std::strerror(errno)));
}

void sync_file(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_with_errno(fmt::format("cannot open {}", file.string()));
  const int synced = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (synced != 0) {
    errno = error;
    fail_with_errno(fmt::format("cannot sync {}", file.string()));
  }
}

void sync_directory(const fs::path& directory) {
  if (const auto error = files::sync_directory(directory)) {
    throw std::runtime_error(
        fmt::format("cannot sync the directory {}: {}", directory.string(), error.message()));
  }
}

bool stopped(const std::atomic<int>* stop) {
  return stop != nullptr && stop->load(std::memory_order_relaxed) != 0;
}

void throw_if_stopped(const std::atomic<int>* stop) {
  if (stopped(stop)) throw BackupInterrupted("the backup was interrupted");
}

// Copies a regular file into a new file of mode 0600, synced. False when
// `source` went away (a record removed since it was listed).
bool copy_private_file(const fs::path& source, const fs::path& target,
                       const std::atomic<int>* stop) {
  const int in = ::open(source.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (in < 0) {
    if (errno == ENOENT) return false;
    fail_with_errno(fmt::format("cannot read {}", source.string()));
  }
  const int out = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0) {
    const int error = errno;
    ::close(in);
    errno = error;
    fail_with_errno(fmt::format("cannot create {}", target.string()));
  }
  char buffer[64 * 1024];
  std::string problem;
  for (;;) {
    if (stopped(stop)) {
      problem = "the backup was interrupted";
      break;
    }
    const ssize_t got = ::read(in, buffer, sizeof buffer);
    if (got == 0) break;
    if (got < 0) {
      if (errno == EINTR) continue;
      problem = fmt::format("cannot read {}: {}", source.string(), std::strerror(errno));
      break;
    }
    for (ssize_t done = 0; done < got;) {
      const ssize_t put = ::write(out, buffer + done, static_cast<std::size_t>(got - done));
      if (put < 0 && errno == EINTR) continue;
      if (put < 0) {
        problem = fmt::format("cannot write {}: {}", target.string(), std::strerror(errno));
        break;
      }
      done += put;
    }
    if (!problem.empty()) break;
  }
  if (problem.empty() && ::fsync(out) != 0) {
    problem = fmt::format("cannot sync {}: {}", target.string(), std::strerror(errno));
  }
  ::close(in);
  ::close(out);
  throw_if_stopped(stop);
  if (!problem.empty()) throw std::runtime_error(problem);
  return true;
}

// One consistent snapshot of the database `name` of `data_dir`, compacted,
// checked and synced into `target_dir` (on its way to `destination`, which
// errors name). The read-only connection leaves the source as it is (no
// pragma, no checkpoint) and, in WAL mode, blocks no writer.
BackupReport::Database copy_database(const fs::path& data_dir, const std::string& name,
                                     const fs::path& target_dir, const fs::path& destination,
                                     const std::atomic<int>* stop) {
  const fs::path source_path = data_dir / name;
  const fs::path target = target_dir / name;
  try {
    Database source(source_path, Database::ReadOnly{});
    if (stop != nullptr) {
      // Every 1000 virtual machine steps: a large database stops within
      // moments of a signal, not at the end of its copy.
      ::sqlite3_progress_handler(
          source.handle(), 1000,
          [](void* flag) { return stopped(static_cast<const std::atomic<int>*>(flag)) ? 1 : 0; },
          const_cast<std::atomic<int>*>(stop));
    }
    source.prepare("VACUUM INTO ?1").bind(1, target.string()).run();
  } catch (const SqliteError& e) {
    throw_if_stopped(stop);
    // SQLite names the source alone ("<source>: database or disk is full"),
    // which would send an operator to the wrong disk.
    std::string_view problem = e.what();
    if (const std::string prefix = source_path.string() + ": "; problem.starts_with(prefix)) {
      problem.remove_prefix(prefix.size());
    }
    throw std::runtime_error(fmt::format("cannot copy {} to {}: {}", source_path.string(),
                                         destination.string(), problem));
  }
  // Created under the umask; the directory (0700) kept it private meanwhile.
  if (::chmod(target.c_str(), 0600) != 0) {
    fail_with_errno(fmt::format("cannot make {} private", target.string()));
  }
  sync_file(target);
  Database copy(target, Database::ReadOnly{});
  auto check = copy.prepare("PRAGMA quick_check");
  const std::string verdict = check.step() ? std::string(check.column_text(0)) : std::string();
  if (verdict != "ok") {
    throw std::runtime_error(fmt::format("the copy of {} fails SQLite's check: {}", name, verdict));
  }
  return {.name = name, .bytes = fs::file_size(target), .schema_version = copy.schema_version()};
}

std::size_t copy_records(const fs::path& data_dir, const fs::path& relative,
                         const fs::path& target_dir, const std::atomic<int>* stop) {
  std::error_code error;
  if (!fs::is_directory(data_dir / relative, error)) return 0;
  const fs::path target = target_dir / relative;
  if (const auto made = files::create_private_directory(target)) {
    throw std::runtime_error(fmt::format("cannot create {}: {}", target.string(), made.message()));
  }
  std::size_t copied = 0;
  for (const auto& entry : fs::directory_iterator(data_dir / relative)) {
    // A link could point anywhere: records are plain files.
    if (!entry.is_regular_file() || entry.is_symlink()) continue;
    if (entry.path().extension() == ".tmp") continue;  // a write not yet in place
    if (copy_private_file(entry.path(), target / entry.path().filename(), stop)) ++copied;
  }
  sync_directory(target);
  return copied;
}

// The copy under construction: removed unless `keep`.
class PartialCopy {
 public:
  explicit PartialCopy(const fs::path& destination) {
    std::string pattern = destination.string() + ".partial-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      fail_with_errno(fmt::format("cannot create a directory beside {}", destination.string()));
    }
    path_ = pattern;  // mkdtemp makes it 0700
  }
  ~PartialCopy() {
    std::error_code ignored;
    if (!kept_) fs::remove_all(path_, ignored);
  }
  PartialCopy(const PartialCopy&) = delete;
  PartialCopy& operator=(const PartialCopy&) = delete;

  const fs::path& path() const { return path_; }

  // Renames it to `destination`, refusing to replace anything there.
  void keep_as(const fs::path& destination) {
    sync_directory(path_);
    if (::renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, destination.c_str(), RENAME_NOREPLACE) !=
        0) {
      fail_with_errno(fmt::format("cannot rename {} to {}", path_.string(), destination.string()));
    }
    kept_ = true;
    sync_directory(destination.parent_path());
  }

 private:
  fs::path path_;
  bool kept_ = false;
};

}  // namespace

BackupReport back_up_data_directory(const BackupRequest& request) {
  BackupReport report;
  std::error_code error;
  report.data_dir = fs::canonical(request.data_dir, error);
  if (error) {
    throw std::runtime_error(fmt::format("store.data_dir: cannot read {}: {}",
                                         request.data_dir.string(), error.message()));
  }
  const fs::path flint_db = report.data_dir / "flint.db";
  if (!fs::exists(flint_db, error)) {
    if (error) {  // not "no such file": the directory cannot be searched (permissions)
      throw std::runtime_error(
          fmt::format("store.data_dir: cannot read {}: {}", flint_db.string(), error.message()));
    }
    throw std::runtime_error(fmt::format(
        "store.data_dir: {} holds no flint.db: not a Flint data directory, or Flint never "
        "started on it",
        report.data_dir.string()));
  }
  if (request.destination.empty()) {
    throw BackupDestinationError("--to: expected the path of a new directory, got nothing");
  }
  report.destination = fs::absolute(request.destination).lexically_normal();
  if (report.destination.filename().empty()) {
    report.destination = report.destination.parent_path();  // a trailing '/'
  }
  if (fs::exists(fs::symlink_status(report.destination, error))) {
    throw BackupDestinationError(fmt::format("--to: {} exists; name a directory that does not",
                                             report.destination.string()));
  }
  const fs::path parent = fs::weakly_canonical(report.destination.parent_path(), error);
  if (error || !fs::is_directory(parent, error)) {
    throw BackupDestinationError(fmt::format(
        "--to: {} {}", report.destination.parent_path().string(),
        fs::exists(report.destination.parent_path()) ? "is not a directory" : "does not exist"));
  }
  report.destination = parent / report.destination.filename();
  // A copy inside what it protects goes when the directory goes.
  const auto [mismatch, rest] = std::mismatch(report.data_dir.begin(), report.data_dir.end(),
                                              report.destination.begin(), report.destination.end());
  if (mismatch == report.data_dir.end()) {
    throw BackupDestinationError(fmt::format("--to: {} is inside the data directory {}",
                                             report.destination.string(),
                                             report.data_dir.string()));
  }

  const std::atomic<int>* stop = request.stop;
  throw_if_stopped(stop);
  PartialCopy partial(report.destination);
  report.databases.push_back(
      copy_database(report.data_dir, "flint.db", partial.path(), report.destination, stop));
  for (const auto& records : request.record_dirs) {
    report.record_files += copy_records(report.data_dir, records, partial.path(), stop);
  }
  if (fs::exists(report.data_dir / "events.db", error)) {
    report.databases.push_back(
        copy_database(report.data_dir, "events.db", partial.path(), report.destination, stop));
  }
  if (request.copy_key && fs::exists(report.data_dir / "credentials.key", error)) {
    report.key_copied = copy_private_file(report.data_dir / "credentials.key",
                                          partial.path() / "credentials.key", stop);
  }
  throw_if_stopped(stop);
  partial.keep_as(report.destination);
  return report;
}

}  // namespace flint::store
