#include "store/store.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <prometheus/registry.h>

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

TEST_F(StoreTest, WhatItCreatesIsTheOwnersAlone) {
  namespace fs = std::filesystem;
  {
    Store store({.data_dir = dir_ / "data"}, kSchema);
    store.write([](Database& db) { db.exec("INSERT INTO kv VALUES ('k', 'v')"); });
    EXPECT_EQ(fs::status(dir_ / "data").permissions(), fs::perms::owner_all);
    for (const char* file : {"flint.db", "flint.db-wal", "flint.db-shm"}) {
      ASSERT_TRUE(fs::exists(dir_ / "data" / file)) << file;
      EXPECT_EQ(fs::status(dir_ / "data" / file).permissions(),
                fs::perms::owner_read | fs::perms::owner_write)
          << file;
    }
  }
  // A directory the operator made keeps its mode.
  fs::create_directories(dir_ / "shared");
  fs::permissions(dir_ / "shared",
                  fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  Store store({.data_dir = dir_ / "shared"}, kSchema);
  EXPECT_EQ(fs::status(dir_ / "shared").permissions(),
            fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
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

// A database at its page limit fails with SQLITE_FULL, as on a full disk.
TEST_F(StoreTest, WritesFailingForWantOfSpaceAreReportedUntilOneCommits) {
  Store store({.data_dir = dir_, .synchronous = Synchronous::normal}, kSchema);
  store.write([](Database& db) { db.exec("INSERT INTO kv VALUES ('a', '1')"); });
  EXPECT_FALSE(store.write_failure().has_value());
  store.write([](Database& db) {
    auto pages = db.prepare("PRAGMA page_count");
    pages.step();
    db.exec("PRAGMA max_page_count = " + std::to_string(pages.column_int(0)));
  });
  const auto before = std::chrono::system_clock::now();
  const auto fill = [](Database& db) {
    db.prepare("INSERT INTO kv VALUES ('big', ?)").bind(1, std::string(100'000, 'x')).run();
  };
  for (int i = 0; i < 2; ++i) {
    try {
      store.write(fill);
      ADD_FAILURE() << "the write went past max_page_count";
    } catch (const SqliteError& e) {
      EXPECT_TRUE(e.disk_full()) << e.what();
    }
  }
  auto failure = store.write_failure();
  ASSERT_TRUE(failure.has_value());
  EXPECT_NE(failure->error.find("database or disk is full"), std::string::npos) << failure->error;
  EXPECT_GE(failure->since, before);
  EXPECT_LE(failure->since, std::chrono::system_clock::now());
  const auto since = failure->since;

  // A write failing for its own reasons says nothing of the disk.
  EXPECT_THROW(store.write([](Database& db) { db.exec("INSERT INTO kv VALUES ('a', 'dup')"); }),
               SqliteError);
  failure = store.write_failure();
  ASSERT_TRUE(failure.has_value());
  EXPECT_EQ(failure->since, since);

  store.write([](Database& db) { db.exec("PRAGMA max_page_count = 1073741823"); });
  EXPECT_FALSE(store.write_failure().has_value());
  store.write(fill);
  EXPECT_EQ(count(store), 2);
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

// Queues `writes` behind a write that holds the writer thread until all of
// them are queued, so that they commit as one group; returns each outcome.
std::vector<std::exception_ptr> commit_as_one_group(Store& store,
                                                    std::vector<Store::Write> writes) {
  std::promise<void> queued;
  std::shared_future<void> all_queued = queued.get_future().share();
  std::promise<void> blocker_done;
  store.write_async([all_queued](Database&) { all_queued.wait(); },
                    [&blocker_done](std::exception_ptr) { blocker_done.set_value(); });
  std::vector<std::promise<std::exception_ptr>> outcomes(writes.size());
  for (std::size_t i = 0; i < writes.size(); ++i) {
    store.write_async(std::move(writes[i]), [&outcomes, i](std::exception_ptr failure) {
      outcomes[i].set_value(failure);
    });
  }
  queued.set_value();
  blocker_done.get_future().wait();
  std::vector<std::exception_ptr> failures;
  for (auto& outcome : outcomes) failures.push_back(outcome.get_future().get());
  return failures;
}

TEST_F(StoreTest, AFailingWriteInAGroupFailsAloneAndTheOthersCommitOnce) {
  Store store({.data_dir = dir_, .synchronous = Synchronous::normal}, kSchema);
  std::vector<Store::Write> writes;
  writes.emplace_back([](Database& db) {
    db.exec("INSERT INTO kv VALUES ('a1', 'v')");
    db.exec("INSERT INTO kv VALUES ('a2', 'v')");
  });
  writes.emplace_back([](Database& db) {
    db.exec("INSERT INTO kv VALUES ('b', 'v')");
    throw std::runtime_error("half way");
  });
  writes.emplace_back([](Database& db) { db.exec("INSERT INTO kv VALUES ('c', 'v')"); });
  const auto failures = commit_as_one_group(store, std::move(writes));
  EXPECT_FALSE(failures[0]);
  ASSERT_TRUE(failures[1]);
  EXPECT_THROW(std::rethrow_exception(failures[1]), std::runtime_error);
  EXPECT_FALSE(failures[2]);
  const auto keys = store.read([](Database& db) {
    std::string found;
    auto select = db.prepare("SELECT k FROM kv ORDER BY k");
    while (select.step()) found += std::string(select.column_text(0)) + ' ';
    return found;
  });
  EXPECT_EQ(keys, "a1 a2 c ");
}

TEST_F(StoreTest, WritesOfAGroupRunOnceWhenNoneFails) {
  Store store({.data_dir = dir_, .synchronous = Synchronous::normal}, kSchema);
  constexpr int kWrites = 20;
  std::array<std::atomic<int>, kWrites> runs{};
  std::vector<Store::Write> writes;
  for (int i = 0; i < kWrites; ++i) {
    writes.emplace_back([&runs, i](Database& db) {
      runs[i].fetch_add(1);
      db.prepare("INSERT INTO kv VALUES (?, 'v')").bind(1, std::to_string(i)).run();
    });
  }
  for (const auto& failure : commit_as_one_group(store, std::move(writes))) EXPECT_FALSE(failure);
  for (const auto& runs_of_one : runs) EXPECT_EQ(runs_of_one.load(), 1);
  EXPECT_EQ(count(store), kWrites);
}

TEST_F(StoreTest, ADamagedFileIsRememberedFromTheFirstReadThatFindsIt) {
  {
    Store store({.data_dir = dir_, .synchronous = Synchronous::full}, kSchema);
    store.write([](Database& db) {
      for (int i = 0; i < 200; ++i) {
        db.prepare("INSERT INTO kv VALUES (?, ?)")
            .bind(1, "k" + std::to_string(i))
            .bind(2, std::string(500, 'v'))
            .run();
      }
    });
    EXPECT_EQ(store.damage(), "");
  }  // closed: the WAL is checkpointed into flint.db
  const auto file = dir_ / "flint.db";
  {
    // Garbage over the middle of some pages of the table, its header kept.
    std::fstream db(file, std::ios::in | std::ios::out | std::ios::binary);
    unsigned char size[2] = {};
    db.seekg(16);
    db.read(reinterpret_cast<char*>(size), 2);
    const std::streamoff page = (size[0] << 8) | size[1];
    for (const int number : {3, 5, 8}) {
      db.seekp((number - 1) * page + 100);
      const std::string garbage(2000, '\xa5');
      db.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
    }
  }
  Store store({.data_dir = dir_, .synchronous = Synchronous::full}, kSchema);
  EXPECT_EQ(store.damage(), "");  // opening reads the header only
  const auto read_all = [](Database& db) {
    auto statement = db.prepare("SELECT v FROM kv");
    std::size_t bytes = 0;
    while (statement.step()) bytes += statement.column_text(0).size();
    return bytes;
  };
  EXPECT_THROW(store.read(read_all), SqliteError);
  EXPECT_NE(store.damage().find("flint.db: database disk image is malformed"), std::string::npos)
      << store.damage();
  // A later success does not hide it: the file stays damaged.
  store.write([](Database& db) { db.exec("CREATE TABLE other (x)"); });
  EXPECT_NE(store.damage(), "");
}

// The value of the series of `name` with `label` (any, when empty); for a
// histogram, its sample count (`sum` false) or sum.
double metric(prometheus::Registry& registry, const std::string& name,
              const std::string& label = {}, bool sum = false) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& series : family.metric) {
      if (!label.empty() && (series.label.empty() || series.label[0].value != label)) continue;
      if (family.type == prometheus::MetricType::Histogram) {
        return sum ? series.histogram.sample_sum
                   : static_cast<double>(series.histogram.sample_count);
      }
      return series.counter.value;
    }
  }
  return -1;
}

TEST_F(StoreTest, TheProbeCountsAndTimesEveryGroupCommit) {
  prometheus::Registry registry;
  StoreProbe probe(registry);
  Store store({.data_dir = dir_, .synchronous = Synchronous::normal, .probe = &probe}, kSchema);
  for (const char* key : {"a", "b", "c"}) {
    store.write([key](Database& db) {
      db.prepare("INSERT INTO kv VALUES (?, 'v')").bind(1, std::string(key)).run();
    });
  }
  EXPECT_THROW(store.write([](Database& db) { db.exec("INSERT INTO kv VALUES ('a', 'dup')"); }),
               SqliteError);
  EXPECT_EQ(metric(registry, "flint_store_commits_total", "ok"), 4);
  EXPECT_EQ(metric(registry, "flint_store_commits_total", "failed"), 0);
  EXPECT_EQ(metric(registry, "flint_store_writes_total", "ok"), 3);
  EXPECT_EQ(metric(registry, "flint_store_writes_total", "failed"), 1);
  EXPECT_EQ(metric(registry, "flint_store_commit_duration_seconds"), 4);
  EXPECT_GT(metric(registry, "flint_store_commit_duration_seconds", {}, true), 0);

  // Writes queued behind a busy writer form one group, and its wait shows.
  std::promise<void> release;
  auto released = release.get_future().share();
  std::promise<void> started;
  std::promise<void> held;
  store.write_async(
      [released, &started, once = std::make_shared<std::once_flag>()](Database&) {
        std::call_once(*once, [&] { started.set_value(); });
        released.wait();
      },
      [&held](std::exception_ptr) { held.set_value(); });
  started.get_future().wait();
  std::atomic<int> done = 0;
  for (int i = 0; i < 10; ++i) {
    store.write_async(
        [i](Database& db) {
          db.prepare("INSERT INTO kv VALUES (?, 'v')").bind(1, "q" + std::to_string(i)).run();
        },
        [&done](std::exception_ptr failure) {
          if (!failure) ++done;
        });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  release.set_value();
  held.get_future().wait();
  // A group is observed before its writes are told.
  for (int i = 0; i < 1000 && done.load() < 10; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(done.load(), 10);
  EXPECT_EQ(metric(registry, "flint_store_commits_total", "ok"), 4 + 2);
  EXPECT_EQ(metric(registry, "flint_store_writes_total", "ok"), 3 + 11);
  EXPECT_EQ(metric(registry, "flint_store_queue_wait_seconds"), 6);
  EXPECT_GE(metric(registry, "flint_store_queue_wait_seconds", {}, true), 0.045);
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
