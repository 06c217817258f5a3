#pragma once

/// @file
/// For tests: another process that has a database open, as a Flint from
/// before `flint.lock` running beside this one would.

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/sqlite_database.hpp"

namespace flint::store::testing {

/// A forked child that opens `database` and reads it (so its WAL index is
/// open), then holds it until `release` or destruction.
class OtherProcessHoldingDatabase {
 public:
  explicit OtherProcessHoldingDatabase(const std::filesystem::path& database) {
    if (::pipe(ready_) != 0 || ::pipe(done_) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      Database db(database, Synchronous::normal);
      db.schema_version();  // a read: the WAL index is open
      char byte = 1;
      if (::write(ready_[1], &byte, 1) != 1) std::_Exit(3);
      if (::read(done_[0], &byte, 1) < 0) std::_Exit(4);
      std::_Exit(0);
    }
    char byte = 0;
    if (::read(ready_[0], &byte, 1) != 1) throw std::runtime_error("the child did not open it");
  }
  ~OtherProcessHoldingDatabase() { release(); }
  OtherProcessHoldingDatabase(const OtherProcessHoldingDatabase&) = delete;
  OtherProcessHoldingDatabase& operator=(const OtherProcessHoldingDatabase&) = delete;

  /// The child's process id.
  pid_t pid() const noexcept { return pid_; }

  /// Lets the child close the database and exit; returns its wait status
  /// (0: it held the database as asked). Idempotent.
  int release() {
    if (pid_ <= 0 || released_) return status_;
    released_ = true;
    const char byte = 1;
    if (::write(done_[1], &byte, 1) != 1) ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
    for (const int fd : {ready_[0], ready_[1], done_[0], done_[1]}) ::close(fd);
    return status_;
  }

 private:
  int ready_[2] = {-1, -1};
  int done_[2] = {-1, -1};
  pid_t pid_ = -1;
  bool released_ = false;
  int status_ = -1;
};

}  // namespace flint::store::testing
