#include "store/data_directory_backup.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "store/sqlite_database.hpp"

namespace flint::store {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

class DataDirectoryBackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("flint-backup-" + std::to_string(::getpid()));
    data_ = root_ / "data";
    fs::remove_all(root_);
    fs::create_directories(data_);
    Database flint(data_ / "flint.db", Synchronous::normal);
    flint.exec("CREATE TABLE executions(id INTEGER PRIMARY KEY, body TEXT); PRAGMA user_version=4");
    flint.exec("INSERT INTO executions(body) VALUES ('a'), ('b')");
    Database events(data_ / "events.db", Synchronous::normal);
    events.exec("CREATE TABLE events(seq INTEGER PRIMARY KEY, body TEXT); PRAGMA user_version=2");
    events.exec("INSERT INTO events(body) VALUES ('e1')");
    write(data_ / "credentials.key", std::string(32, 'k'));
    fs::create_directories(data_ / "netns" / "tasks");
    write(data_ / "netns" / "tasks" / "r1.json", "{\"status\":\"COMPLETE\"}");
    write(data_ / "netns" / "tasks" / "r2.json.tmp", "{\"stat");  // a write in progress
    fs::create_symlink("/etc/passwd", data_ / "netns" / "tasks" / "link.json");
    fs::create_directories(data_ / "netns" / "scratch");
    write(data_ / "netns" / "scratch" / "out", "ip output");
  }
  void TearDown() override { fs::remove_all(root_); }

  static void write(const fs::path& file, const std::string& text) {
    std::ofstream(file, std::ios::binary) << text;
  }
  static std::string read(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  static std::int64_t count(const fs::path& database, const std::string& table) {
    Database db(database, Database::ReadOnly{});
    auto rows = db.prepare("SELECT count(*) FROM " + table);
    rows.step();
    return rows.column_int(0);
  }
  BackupRequest request() const {
    return {.data_dir = data_,
            .destination = root_ / "backup",
            .copy_key = true,
            .record_dirs = {"netns/infrastructures", "netns/tasks"}};
  }
  // Nothing but the data directory in the root: no copy, whole or partial.
  void expect_nothing_left() const {
    for (const auto& entry : fs::directory_iterator(root_)) {
      EXPECT_EQ(entry.path(), data_) << "left behind: " << entry.path();
    }
  }

  fs::path root_;
  fs::path data_;
};

TEST_F(DataDirectoryBackupTest, CopiesTheDatabasesTheKeyAndTheRecordsIntoAPrivateDirectory) {
  const auto report = back_up_data_directory(request());
  const fs::path copy = root_ / "backup";
  EXPECT_EQ(report.destination, copy);
  EXPECT_EQ(report.data_dir, fs::canonical(data_));
  ASSERT_EQ(report.databases.size(), 2U);
  EXPECT_EQ(report.databases[0].name, "flint.db");
  EXPECT_EQ(report.databases[0].schema_version, 4);
  EXPECT_EQ(report.databases[0].bytes, fs::file_size(copy / "flint.db"));
  EXPECT_EQ(report.databases[1].name, "events.db");
  EXPECT_EQ(report.databases[1].schema_version, 2);
  EXPECT_TRUE(report.key_copied);
  EXPECT_EQ(report.record_files, 1U);

  EXPECT_EQ(count(copy / "flint.db", "executions"), 2);
  EXPECT_EQ(count(copy / "events.db", "events"), 1);
  EXPECT_EQ(read(copy / "credentials.key"), std::string(32, 'k'));
  EXPECT_EQ(read(copy / "netns" / "tasks" / "r1.json"), "{\"status\":\"COMPLETE\"}");
  EXPECT_FALSE(fs::exists(copy / "netns" / "tasks" / "r2.json.tmp"));
  EXPECT_FALSE(fs::exists(fs::symlink_status(copy / "netns" / "tasks" / "link.json")));
  EXPECT_FALSE(fs::exists(copy / "netns" / "scratch"));
  EXPECT_FALSE(fs::exists(copy / "netns" / "infrastructures"));  // none in the source

  const auto private_file = fs::perms::owner_read | fs::perms::owner_write;
  EXPECT_EQ(fs::status(copy).permissions(), fs::perms::owner_all);
  EXPECT_EQ(fs::status(copy / "netns" / "tasks").permissions(), fs::perms::owner_all);
  for (const char* file : {"flint.db", "events.db", "credentials.key", "netns/tasks/r1.json"}) {
    EXPECT_EQ(fs::status(copy / file).permissions(), private_file) << file;
  }
  // The source is as it was, and still writable by its owner.
  EXPECT_EQ(count(data_ / "flint.db", "executions"), 2);
  Database(data_ / "flint.db", Synchronous::normal)
      .exec("INSERT INTO executions(body) VALUES ('c')");
}

TEST_F(DataDirectoryBackupTest, TheCopyIsOneSnapshotWhileAnotherConnectionWrites) {
  std::atomic<bool> stop = false;
  std::atomic<std::int64_t> committed = 2;
  std::thread writer([&] {
    Database db(data_ / "flint.db", Synchronous::normal);
    while (!stop) {
      db.exec("INSERT INTO executions(body) VALUES (hex(randomblob(200)))");
      ++committed;
    }
  });
  while (committed < 500) std::this_thread::yield();
  const std::int64_t before = committed;
  const auto report = back_up_data_directory(request());
  const std::int64_t after = committed;
  stop = true;
  writer.join();
  const auto copied = count(root_ / "backup" / "flint.db", "executions");
  EXPECT_GE(copied, before);
  EXPECT_LE(copied, after + 1);  // + the one committed but not yet counted
}

TEST_F(DataDirectoryBackupTest, TheKeyIsLeftOutWhenItLivesElsewhere) {
  auto asked = request();
  asked.copy_key = false;
  const auto report = back_up_data_directory(asked);
  EXPECT_FALSE(report.key_copied);
  EXPECT_FALSE(fs::exists(root_ / "backup" / "credentials.key"));
}

TEST_F(DataDirectoryBackupTest, RefusesADestinationThatExistsOrCannotBe) {
  const auto refusal = [&](const fs::path& destination) {
    auto asked = request();
    asked.destination = destination;
    try {
      back_up_data_directory(asked);
    } catch (const BackupDestinationError& e) {  // a usage error: exit 2
      return std::string(e.what());
    }
    return std::string("no refusal");
  };
  EXPECT_EQ(refusal(""), "--to: expected the path of a new directory, got nothing");
  fs::create_directories(root_ / "empty");
  EXPECT_EQ(refusal(root_ / "empty"),
            "--to: " + (root_ / "empty").string() + " exists; name a directory that does not");
  fs::remove(root_ / "empty");
  EXPECT_EQ(refusal(root_ / "missing" / "backup"),
            "--to: " + (root_ / "missing").string() + " does not exist");
  write(root_ / "file", "");
  EXPECT_EQ(refusal(root_ / "file" / "backup"),
            "--to: " + (root_ / "file").string() + " is not a directory");
  fs::remove(root_ / "file");
  EXPECT_EQ(refusal(data_ / "backup"), "--to: " + (data_ / "backup").string() +
                                           " is inside the data directory " + data_.string());
  expect_nothing_left();
}

TEST_F(DataDirectoryBackupTest, RefusesADirectoryWithoutFlintDb) {
  auto asked = request();
  asked.data_dir = root_ / "nothing";
  EXPECT_THROW(back_up_data_directory(asked), std::runtime_error);
  fs::create_directories(root_ / "nothing");
  try {
    back_up_data_directory(asked);
    FAIL() << "expected a refusal";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("holds no flint.db: not a Flint data directory"));
  }
  fs::remove(root_ / "nothing");
  expect_nothing_left();
}

TEST_F(DataDirectoryBackupTest, AStopHalfWayEndsTheCopyAndLeavesNothing) {
  {
    // Large enough that its copy is still running when the watcher sees it.
    Database flint(data_ / "flint.db", Synchronous::normal);
    flint.exec(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000) "
        "INSERT INTO executions(body) SELECT randomblob(300) FROM n");
  }
  std::atomic<int> stop{0};
  auto asked = request();
  asked.stop = &stop;
  std::thread watcher([&] {
    // A signal comes while the first database is being copied.
    for (int i = 0; i < 20'000 && stop.load() == 0; ++i) {
      for (const auto& entry : fs::directory_iterator(root_)) {
        if (entry.path().filename().string().starts_with("backup.partial-")) stop.store(SIGINT);
      }
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
  });
  EXPECT_THROW(back_up_data_directory(asked), BackupInterrupted);
  watcher.join();
  expect_nothing_left();
  // Stopped before it starts: nothing is made at all.
  EXPECT_THROW(back_up_data_directory(asked), BackupInterrupted);
  expect_nothing_left();
}

TEST_F(DataDirectoryBackupTest, AFailureHalfWayLeavesNoCopy) {
  // flint.db is copied, then events.db is found not to be a database.
  fs::remove(data_ / "events.db");
  fs::remove(data_ / "events.db-wal");
  fs::remove(data_ / "events.db-shm");
  write(data_ / "events.db", std::string(8192, 'x'));
  try {
    back_up_data_directory(request());
    FAIL() << "expected a failure";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot copy " +
                                         (fs::canonical(data_) / "events.db").string() + " to " +
                                         (root_ / "backup").string() + ": file is not a database");
  }
  expect_nothing_left();
}

}  // namespace
}  // namespace flint::store
