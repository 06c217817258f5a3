#include "store/store.hpp"

#include <array>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace flint::store {
namespace {

constexpr std::array kSchema{Migration{1, "CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT);"}};

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           (std::string("flint-store-") + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

std::int64_t count(Store& store) {
  return store.read([](Database& db) {
    auto statement = db.prepare("SELECT count(*) FROM kv");
    statement.step();
    return statement.column_int(0);
  });
}

TEST_F(StoreTest, ConcurrentWritesAreAllCommittedAndVisible) {
  Store store({.data_dir = dir_ / "nested", .synchronous = Synchronous::normal}, kSchema);
  std::vector<std::thread> writers;
  for (int t = 0; t < 8; ++t) {
    writers.emplace_back([&store, t] {
      for (int i = 0; i < 50; ++i) {
        store.write([&](Database& db) {
          db.prepare("INSERT INTO kv VALUES (?, 'v')").bind(1, std::to_string(t * 1000 + i)).run();
        });
      }
    });
  }
  for (auto& w : writers) w.join();
  EXPECT_EQ(count(store), 400);
}

TEST_F(StoreTest, AFailingWriteFailsAloneAndChangesNothing) {
  Store store({.data_dir = dir_, .synchronous = Synchronous::normal}, kSchema);
  store.write([](Database& db) { db.exec("INSERT INTO kv VALUES ('a', '1')"); });
  EXPECT_THROW(store.write([](Database& db) {
    db.exec("INSERT INTO kv VALUES ('b', '2')");
    throw std::runtime_error("half way");
  }),
               std::runtime_error);
  EXPECT_THROW(store.write([](Database& db) { db.exec("INSERT INTO kv VALUES ('a', 'dup')"); }),
               SqliteError);
  EXPECT_EQ(count(store), 1);
}

TEST_F(StoreTest, AsyncWritesReportTheirOutcomeWithoutAWaitingThread) {
  Store store({.data_dir = dir_, .synchronous = Synchronous::normal}, kSchema);
  constexpr int kWrites = 100;
  std::mutex mutex;
  std::condition_variable all_done;
  int done = 0;
  int failed = 0;
  for (int i = 0; i < kWrites; ++i) {
    store.write_async(
        [i](Database& db) {
          // Every tenth write collides with the first: it fails alone.
          const std::string key = i % 10 == 9 ? "0" : std::to_string(i);
          db.prepare("INSERT INTO kv VALUES (?, 'v')").bind(1, key).run();
        },
        [&](std::exception_ptr failure) {
          std::lock_guard lock(mutex);
          ++done;
          if (failure) ++failed;
          all_done.notify_one();
        });
  }
  std::unique_lock lock(mutex);
  ASSERT_TRUE(all_done.wait_for(lock, std::chrono::seconds(10), [&] { return done == kWrites; }));
  EXPECT_EQ(failed, kWrites / 10);
  EXPECT_EQ(count(store), kWrites - kWrites / 10);
}

TEST_F(StoreTest, DataSurvivesReopening) {
  {
    Store store({.data_dir = dir_, .synchronous = Synchronous::full}, kSchema);
    store.write([](Database& db) { db.exec("INSERT INTO kv VALUES ('a', '1')"); });
  }
  Store store({.data_dir = dir_, .synchronous = Synchronous::full}, kSchema);
  EXPECT_EQ(count(store), 1);
}

}  // namespace
}  // namespace flint::store
