#include "store/sqlite_database.hpp"

#include <array>
#include <cstdio>
#include <filesystem>

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/other_process_testing.hpp"

namespace flint::store {
namespace {

class SqliteDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("flint-store-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

constexpr std::array kMigrations{
    Migration{1, "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"},
    Migration{2, "ALTER TABLE t ADD COLUMN note TEXT;"},
};

TEST_F(SqliteDatabaseTest, MigratesOnceAndKeepsData) {
  {
    Database db(dir_ / "a.db", Synchronous::normal);
    db.migrate(kMigrations);
    EXPECT_EQ(db.schema_version(), 2);
    Transaction tx(db);
    db.prepare("INSERT INTO t (name, note) VALUES (?, ?)").bind(1, "x").bind(2, "n").run();
    tx.commit();
  }
  Database again(dir_ / "a.db", Synchronous::full);
  again.migrate(kMigrations);  // nothing to do
  auto select = again.prepare("SELECT name, note FROM t");
  ASSERT_TRUE(select.step());
  EXPECT_EQ(select.column_text(0), "x");
  EXPECT_EQ(select.column_text(1), "n");
}

TEST_F(SqliteDatabaseTest, OpensInWalModeWithTemporaryDataInMemory) {
  Database db(dir_ / "a.db", Synchronous::full);
  auto mode = db.prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode.step());
  EXPECT_EQ(mode.column_text(0), "wal");
  // Statement journals too: the group commit's savepoints write no temporary file.
  auto temp_store = db.prepare("PRAGMA temp_store");
  ASSERT_TRUE(temp_store.step());
  EXPECT_EQ(temp_store.column_int(0), 2);  // MEMORY
  auto synchronous = db.prepare("PRAGMA synchronous");
  ASSERT_TRUE(synchronous.step());
  EXPECT_EQ(synchronous.column_int(0), 2);  // FULL
}

TEST_F(SqliteDatabaseTest, SyncsTheWalOnDemand) {
  Database db(dir_ / "a.db", Synchronous::normal);
  EXPECT_NO_THROW(db.sync_wal());  // no write yet
  db.migrate(kMigrations);
  Transaction tx(db);
  db.prepare("INSERT INTO t (name) VALUES ('x')").run();
  tx.commit();
  EXPECT_NO_THROW(db.sync_wal());
  // What was synced is the database's: another connection reads it.
  Database other(dir_ / "a.db", Synchronous::normal);
  auto count = other.prepare("SELECT count(*) FROM t");
  ASSERT_TRUE(count.step());
  EXPECT_EQ(count.column_int(0), 1);
}

TEST_F(SqliteDatabaseTest, KeepsNoGlobalMemoryStatistics) {
  Database db(dir_ / "m.db", Synchronous::normal);
  db.exec("CREATE TABLE t (x TEXT); INSERT INTO t VALUES (hex(randomblob(10000)));");
  // Counted only with SQLITE_CONFIG_MEMSTATUS, whose mutex every allocation takes.
  EXPECT_EQ(sqlite3_memory_used(), 0);
}

TEST_F(SqliteDatabaseTest, RefusesASchemaNewerThanKnown) {
  {
    Database db(dir_ / "b.db", Synchronous::normal);
    db.migrate(kMigrations);
  }
  Database db(dir_ / "b.db", Synchronous::normal);
  try {
    db.migrate(std::span(kMigrations).first(1));
    FAIL();
  } catch (const SqliteError& e) {
    EXPECT_NE(std::string(e.what()).find("newer than this flint knows"), std::string::npos);
  }
}

TEST_F(SqliteDatabaseTest, UncommittedTransactionRollsBack) {
  Database db(dir_ / "c.db", Synchronous::normal);
  db.migrate(kMigrations);
  {
    Transaction tx(db);
    db.prepare("INSERT INTO t (name) VALUES ('gone')").run();
  }
  auto count = db.prepare("SELECT count(*) FROM t");
  ASSERT_TRUE(count.step());
  EXPECT_EQ(count.column_int(0), 0);
}

TEST_F(SqliteDatabaseTest, FailedMigrationNamesItsVersionAndChangesNothing) {
  Database db(dir_ / "d.db", Synchronous::normal);
  constexpr std::array broken{Migration{1, "CREATE TABLE u (x);"},
                              Migration{2, "ALTER TABLE missing ADD COLUMN y;"}};
  try {
    db.migrate(broken);
    FAIL();
  } catch (const SqliteError& e) {
    EXPECT_NE(std::string(e.what()).find("schema version 2"), std::string::npos) << e.what();
  }
  // The first step is undone with the second: the file stays what its writer can open.
  EXPECT_EQ(db.schema_version(), 0);
  EXPECT_THROW(db.prepare("SELECT * FROM u"), SqliteError);
}

TEST_F(SqliteDatabaseTest, UnopenablePathIsNamed) {
  try {
    Database db(dir_ / "no" / "such" / "dir" / "x.db", Synchronous::normal);
    FAIL();
  } catch (const SqliteError& e) {
    EXPECT_NE(std::string(e.what()).find("no/such/dir"), std::string::npos) << e.what();
    // The system's reason, not only "unable to open database file".
    EXPECT_NE(std::string(e.what()).find("(No such file or directory)"), std::string::npos)
        << e.what();
  }
}

TEST_F(SqliteDatabaseTest, AStatementErrorNamesItsDatabase) {
  Database db(dir_ / "e.db", Synchronous::normal);
  try {
    db.prepare("INSERT INTO t VALUES (1)");
    FAIL();
  } catch (const SqliteError&) {  // a bad statement names its SQL
  }
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY)");
  db.prepare("INSERT INTO t VALUES (1)").run();
  try {
    db.prepare("INSERT INTO t VALUES (1)").run();
    FAIL();
  } catch (const SqliteError& e) {
    EXPECT_NE(std::string(e.what()).find((dir_ / "e.db").string() + ": UNIQUE constraint failed"),
              std::string::npos)
        << e.what();
  }
}

// SQLite opens a file it may not write read-only, without an error; every
// write would fail later while the host looked healthy.
// An older Flint created its databases under the umask (0644).
TEST_F(SqliteDatabaseTest, ADatabaseOpenToOthersIsMadeTheOwnersAlone) {
  namespace fs = std::filesystem;
  const auto path = dir_ / "open.db";
  Database first(path, Synchronous::normal);
  first.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1);");  // with a -wal and a -shm
  const auto readable = fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                        fs::perms::others_read;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    fs::permissions(path.string() + suffix, readable);
  }
  Database second(path, Synchronous::normal);
  for (const char* suffix : {"", "-wal", "-shm"}) {
    EXPECT_EQ(fs::status(path.string() + suffix).permissions(),
              fs::perms::owner_read | fs::perms::owner_write)
        << suffix;
  }
}

// An older Flint (from before flint.lock) still running on the same file
// would go on writing the old schema under the migrated one.
TEST_F(SqliteDatabaseTest, AMigrationIsRefusedWhileAnotherProcessHasTheDatabaseOpen) {
  const auto path = dir_ / "shared.db";
  const std::array first{kMigrations[0]};
  { Database(path, Synchronous::normal).migrate(first); }
  testing::OtherProcessHoldingDatabase other(path);
  const pid_t child = other.pid();
  {
    Database db(path, Synchronous::normal);
    Database same_process(path, Synchronous::normal);  // this process's own: no refusal
    same_process.schema_version();
    try {
      db.migrate(kMigrations);
      ADD_FAILURE() << "expected a refusal";
    } catch (const SqliteError& e) {
      EXPECT_NE(std::string(e.what()).find("must be migrated (version 1 to 2), but process " +
                                           std::to_string(child) + " has it open"),
                std::string::npos)
          << e.what();
    }
    EXPECT_EQ(db.schema_version(), 1);
  }
  EXPECT_EQ(other.release(), 0);
  Database db(path, Synchronous::normal);
  db.migrate(kMigrations);
  EXPECT_EQ(db.schema_version(), 2);
}

TEST_F(SqliteDatabaseTest, ADatabaseItMayNotWriteIsRefusedAtOpen) {
  // Root writes any file; the child drops to nobody, which needs root.
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run the child as nobody";
  const auto path = dir_ / "r.db";
  { Database db(path, Synchronous::normal); }
  namespace fs = std::filesystem;
  fs::permissions(dir_, fs::perms::owner_all | fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(path, fs::perms::owner_read | fs::perms::others_read);
  const auto open_as_nobody = [&] {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) std::_Exit(3);
    try {
      Database db(path, Synchronous::normal);
    } catch (const SqliteError& e) {
      std::fprintf(stderr, "%s\n", e.what());
      std::_Exit(0);
    }
    std::_Exit(5);
  };
  EXPECT_EXIT(open_as_nobody(), ::testing::ExitedWithCode(0),
              "cannot open .*r.db for writing: Permission denied; check its mode and owner");
}

TEST(SqliteErrorTest, AnIoErrorForWantOfSpaceIsADiskFull) {
  // SQLite reports ENOSPC as SQLITE_IOERR where it does not expect it (the
  // -shm file): the 503 and the store's vital must still say the disk is full.
  EXPECT_TRUE(SqliteError(SQLITE_FULL, "x").disk_full());
  EXPECT_TRUE(SqliteError(SQLITE_IOERR_WRITE, "x", ENOSPC).disk_full());
  EXPECT_TRUE(SqliteError(SQLITE_IOERR_TRUNCATE, "x", EDQUOT).disk_full());
  EXPECT_FALSE(SqliteError(SQLITE_IOERR_WRITE, "x", EIO).disk_full());
  EXPECT_FALSE(SqliteError(SQLITE_IOERR_WRITE, "x").disk_full());
  EXPECT_FALSE(SqliteError(SQLITE_BUSY, "x", ENOSPC).disk_full());
}

}  // namespace
}  // namespace flint::store
