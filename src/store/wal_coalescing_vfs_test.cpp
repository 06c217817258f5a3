#include "store/wal_coalescing_vfs.hpp"

#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/sqlite_database.hpp"

namespace flint::store {
namespace {

class WalCoalescingVfsTest : public ::testing::TestWithParam<Synchronous> {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("flint-wal-vfs-" + std::to_string(::getpid()) + "-" +
            std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = dir_ / "a.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static void create_table(Database& db) {
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
  }
  // Inserts `rows` rows of `size` bytes each in one transaction.
  static void insert(Database& db, int rows, std::size_t size = 1000) {
    Transaction transaction(db);
    for (int i = 0; i < rows; ++i) {
      db.prepare("INSERT INTO t (body) VALUES (?)").bind(1, std::string(size, 'a' + i % 26)).run();
    }
    transaction.commit();
  }
  static std::int64_t count(Database& db) {
    auto select = db.prepare("SELECT count(*) FROM t");
    select.step();
    return select.column_int(0);
  }
  static std::string integrity(Database& db) {
    auto check = db.prepare("PRAGMA integrity_check");
    check.step();
    return std::string(check.column_text(0));
  }

  std::filesystem::path dir_;
  std::filesystem::path path_;
};

// Write system calls this process made so far (the kernel's count).
std::int64_t write_calls() {
  std::ifstream io("/proc/self/io");
  std::string key;
  std::int64_t value = 0;
  while (io >> key >> value) {
    if (key == "syscw:") return value;
  }
  return -1;
}

TEST_P(WalCoalescingVfsTest, WritesACommitWithAFewSystemCalls) {
  Database db(path_, GetParam());
  db.exec("PRAGMA wal_autocheckpoint=0");  // keep every frame in the WAL
  create_table(db);
  const auto wal = path_.string() + "-wal";
  const auto wal_before = std::filesystem::file_size(wal);
  const auto calls_before = write_calls();
  ASSERT_GE(calls_before, 0) << "/proc/self/io has no syscw";
  insert(db, 150);  // about 40 pages
  const auto calls = write_calls() - calls_before;
  const auto frames = (std::filesystem::file_size(wal) - wal_before) / (4096 + 24);
  ASSERT_GE(frames, 35u);
  // SQLite alone makes two calls per frame (its header, then the page); the
  // VFS one per 64 KiB. The margin is for calls this test does not make.
  EXPECT_LE(calls, static_cast<std::int64_t>(frames / 3)) << frames << " frames";
  EXPECT_EQ(count(db), 150);
}

TEST_P(WalCoalescingVfsTest, AnotherConnectionSeesEveryCommitAtOnce) {
  Database writer(path_, GetParam());
  create_table(writer);
  Database reader(path_, GetParam());
  for (int i = 1; i <= 200; ++i) {
    insert(writer, 3, 700);
    ASSERT_EQ(count(reader), 3 * i) << "after commit " << i;
  }
  EXPECT_EQ(integrity(reader), "ok");
}

TEST_P(WalCoalescingVfsTest, ACommitSurvivesAKillRightAfterIt) {
  constexpr int kCommits = 50;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      Database db(path_, GetParam());
      create_table(db);
      for (int i = 0; i < kCommits; ++i) insert(db, 4);
    } catch (...) {
      ::_exit(3);
    }
    ::raise(SIGKILL);  // no close, no checkpoint: what the WAL holds is all there is
    ::_exit(4);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  Database db(path_, GetParam());
  EXPECT_EQ(count(db), kCommits * 4);
  EXPECT_EQ(integrity(db), "ok");
}

TEST_P(WalCoalescingVfsTest, TransactionsLargerThanTheCacheStayIntact) {
  Database db(path_, GetParam());
  db.exec("PRAGMA cache_size=8");  // pages spill into the WAL before the commit
  create_table(db);
  insert(db, 2000);
  {
    Transaction transaction(db);
    db.exec("UPDATE t SET body = body || '!' WHERE id % 3 = 0");
    db.exec("SAVEPOINT s; DELETE FROM t WHERE id > 1000; ROLLBACK TO s; RELEASE s;");
    db.exec("DELETE FROM t WHERE id % 7 = 0");
    transaction.commit();
  }
  {
    Transaction abandoned(db);  // rolled back: its spilled frames are not committed
    db.exec("DELETE FROM t");
  }
  Database other(path_, GetParam());
  EXPECT_EQ(count(other), 2000 - 2000 / 7);
  auto updated = other.prepare("SELECT count(*) FROM t WHERE body LIKE '%!'");
  updated.step();
  EXPECT_EQ(updated.column_int(0), 2000 / 3 - 2000 / 21);
  EXPECT_EQ(integrity(other), "ok");
}

// A transaction that spilled frames into the WAL and then rolled back leaves
// nothing pending that could land later, over frames another connection
// committed at the same place meanwhile.
TEST_P(WalCoalescingVfsTest, ARolledBackSpillNeverOverwritesAnotherWritersCommit) {
  Database first(path_, GetParam());
  create_table(first);
  insert(first, 10);
  Database second(path_, GetParam());
  // An empty WAL: the rollback then reads nothing back from it (a read
  // would write the pending frames in passing, and hide the risk).
  first.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  first.exec("PRAGMA cache_size=8");
  {
    Transaction abandoned(first);
    for (int i = 0; i < 200; ++i) {
      first.prepare("INSERT INTO t (body) VALUES (?)").bind(1, std::string(1000, 'r')).run();
    }
  }                              // rolled back: its spilled frames are beyond the WAL's end
  insert(second, 400, 900);      // commits frames where the abandoned ones were
  EXPECT_EQ(count(first), 410);  // the first connection reads the WAL again
  insert(first, 1);
  Database third(path_, GetParam());
  EXPECT_EQ(count(third), 411);
  EXPECT_EQ(integrity(third), "ok");
}

// A write the kernel refuses (here: over the file size limit, as a full disk
// would) fails the commit that made it, and the database keeps what it had.
TEST_P(WalCoalescingVfsTest, AFailedWriteFailsItsCommit) {
  {
    Database db(path_, GetParam());
    create_table(db);
    insert(db, 10);
  }
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int code = 0;
    try {
      Database db(path_, GetParam());
      db.exec("PRAGMA wal_autocheckpoint=0");
      std::signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of a signal
      const auto wal_size = std::filesystem::file_size(path_.string() + "-wal");
      rlimit limit{};
      ::getrlimit(RLIMIT_FSIZE, &limit);
      const rlimit small{static_cast<rlim_t>(wal_size + 8 * 4120), limit.rlim_max};
      ::setrlimit(RLIMIT_FSIZE, &small);
      try {
        insert(db, 100);  // about 25 pages: over the limit
        code = 1;         // the commit claimed success
      } catch (const SqliteError&) {
        ::setrlimit(RLIMIT_FSIZE, &limit);
        code = count(db) == 10 && integrity(db) == "ok" ? 0 : 2;
      }
    } catch (...) {
      code = 3;
    }
    ::_exit(code);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "1: the commit succeeded; 2: the data changed; 3: unexpected error";
  Database db(path_, GetParam());
  EXPECT_EQ(count(db), 10);
  EXPECT_EQ(integrity(db), "ok");
}

INSTANTIATE_TEST_SUITE_P(Synchronous, WalCoalescingVfsTest,
                         ::testing::Values(Synchronous::normal, Synchronous::full),
                         [](const auto& param_info) {
                           return param_info.param == Synchronous::full ? std::string("full")
                                                                        : std::string("normal");
                         });

}  // namespace
}  // namespace flint::store
