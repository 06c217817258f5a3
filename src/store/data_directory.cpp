#include "store/data_directory.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files/durable.hpp"
#include "logging/logging.hpp"
#include "security/path_safety.hpp"
#include "store/sqlite_database.hpp"

namespace flint::store {
namespace {

// The command name of process `pid` (/proc/<pid>/comm), or "unknown".
std::string command_of(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/comm", pid));
  std::string name;
  if (!std::getline(in, name) || name.empty()) return "unknown";
  return name;
}

// Whether process `pid` is a `flint backup`: a reader that changes nothing,
// which a Flint may start beside (a restart must not wait for a backup's
// end, nor fail through a service manager's restart limit). Known from its
// arguments: a Flint from before flint.lock, which the check below guards
// against, had no such command.
bool is_flint_backup(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/cmdline", pid), std::ios::binary);
  std::string program, command;
  if (!std::getline(in, program, '\0') || !std::getline(in, command, '\0')) return false;
  return std::filesystem::path(program).filename() == "flint" && command == "backup";
}

// The process id the holder wrote into the lock file, or "unknown".
std::string holder_of(int fd) {
  char text[32] = {};
  const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
  std::string pid(text, n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() ? "unknown" : pid;
}

}  // namespace

void prepare_private_directory(const std::filesystem::path& path, std::string_view key) {
  if (const std::error_code ec = files::create_private_directory(path)) {
    throw std::runtime_error(
        fmt::format("{}: cannot create the directory {}: {}", key, path.string(), ec.message()));
  }
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    throw std::runtime_error(fmt::format("{}: cannot read the mode of {}: {}", key, path.string(),
                                         std::strerror(errno)));
  }
  if ((info.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    throw std::runtime_error(fmt::format(
        "{}: {} lets group or others write to it (mode {:04o}): they could replace what Flint "
        "keeps or runs there; chmod go-w it",
        key, path.string(), info.st_mode & 07777));
  }
  if (info.st_uid != 0 && info.st_uid != ::geteuid()) {
    throw std::runtime_error(fmt::format(
        "{}: {} belongs to user {}, neither root nor Flint's user ({}): its owner could replace "
        "what Flint keeps or runs there; chown it",
        key, path.string(), info.st_uid, ::geteuid()));
  }
  // Whoever may rename a folder on the way may put a directory of their own
  // in its place, as they could with the directory itself.
  if (const std::string problem = security::folders_above_changeable(path); !problem.empty()) {
    throw std::runtime_error(
        fmt::format("{}: {} is reached through a folder others could replace it in: {}", key,
                    path.string(), problem));
  }
  // Root's, say, left by a start as root: usable only by root. access(2),
  // not faccessat2: container sandboxes that predate it answer EPERM, which
  // says nothing of the directory, and so is not held against it.
  if (::access(path.c_str(), W_OK | X_OK) != 0 && errno != EPERM && errno != ENOSYS) {
    const int error = errno;
    throw std::runtime_error(fmt::format("{}: Flint's user ({}) cannot write to {}: {}{}", key,
                                         ::geteuid(), path.string(), std::strerror(error),
                                         error == EACCES ? "; chown it to that user" : ""));
  }
}

DataDirectory::DataDirectory(std::filesystem::path path) : path_(std::move(path)) {
  prepare_private_directory(path_, "store.data_dir");
  const std::filesystem::path lock_file = path_ / "flint.lock";
  std::error_code absent;
  const bool lock_file_existed = std::filesystem::exists(lock_file, absent);
  // Close-on-exec: a script the host starts must not keep the lock alive
  // after the host is gone.
  lock_fd_ = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (lock_fd_ < 0) {
    throw std::runtime_error(fmt::format("store.data_dir: cannot open the lock file {}: {}",
                                         lock_file.string(), std::strerror(errno)));
  }
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    const std::string holder = holder_of(lock_fd_);
    ::close(lock_fd_);
    if (error == EWOULDBLOCK) {
      throw std::runtime_error(fmt::format(
          "store.data_dir: {} is in use by another Flint process (pid {}); each process needs a "
          "data directory of its own",
          path_.string(), holder));
    }
    throw std::runtime_error(fmt::format("store.data_dir: cannot lock {}: {}", lock_file.string(),
                                         std::strerror(error)));
  }
  // A Flint from before flint.lock takes no lock, but has the databases
  // open: found before anything here is touched (the workspace's packages
  // its scripts read, the files' modes, a migration).
  for (const char* database : {"flint.db", "events.db"}) {
    const auto backup_beside = [&](pid_t pid) {
      if (!is_flint_backup(pid)) return false;
      logging::logger("store")->info(
          "{} is being copied by flint backup (pid {}): starting beside it (it only reads)",
          (path_ / database).string(), pid);
      return true;
    };
    if (const pid_t other = other_process_with(path_ / database, backup_beside)) {
      ::close(lock_fd_);
      if (!lock_file_existed) std::filesystem::remove(lock_file, absent);
      throw std::runtime_error(fmt::format(
          "store.data_dir: {} is open in process {} ({}): a Flint from before flint.lock, or a "
          "sqlite3 shell? Stop it first; nothing was changed",
          (path_ / database).string(), other, command_of(other)));
    }
  }
  // For the operator and for the error of a second process; best effort:
  // the lock holds without it.
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_fd_, 0) == 0) (void)!::pwrite(lock_fd_, pid.data(), pid.size(), 0);
}

DataDirectory::~DataDirectory() {
  ::close(lock_fd_);  // releases the lock; the file stays, as a pid file does not
}

}  // namespace flint::store
