#include "service/execution_retention.hpp"

#include <chrono>
#include <optional>
#include <string>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "service/execution_records.hpp"
#include "service/monitoring_jobs.hpp"
#include "store/flint_schema.hpp"

namespace flint::service {
namespace {

class ExecutionRetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           (std::string("flint-retention-") + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    store_ = std::make_unique<store::Store>(
        store::Store::Options{.data_dir = dir_, .synchronous = store::Synchronous::normal},
        store::flint_schema());
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // An execution accepted at `accepted_at`; ended at `ended_at` unless null.
  void add(const std::string& id, std::int64_t accepted_at, std::optional<std::int64_t> ended_at,
           std::optional<std::int64_t> delivered_at = std::nullopt) {
    store_->write([&](store::Database& db) {
      insert_execution(db,
                       AcceptedExecution{.request_id = id,
                                         .driver = "noop",
                                         .lifecycle_name = "Create",
                                         .accepted_at = accepted_at,
                                         .associated_topology = boost::json::object()},
                       /*if_absent=*/false, /*sealed_job=*/nullptr);
      if (ended_at) {
        end_execution(
            db, ExecutionEnding{.request_id = id, .status = "COMPLETE", .ended_at = *ended_at});
      }
      if (delivered_at) {
        db.prepare("UPDATE executions SET delivered_at = ? WHERE request_id = ?")
            .bind(1, *delivered_at)
            .bind(2, id)
            .run();
      }
    });
  }

  bool exists(const std::string& id) {
    return store_->read([&](store::Database& db) { return read_execution(db, id).has_value(); });
  }

  std::size_t count() {
    return store_->read([](store::Database& db) {
      auto count = db.prepare("SELECT count(*) FROM executions");
      count.step();
      return static_cast<std::size_t>(count.column_int(0));
    });
  }

  PruneRound prune(std::string_view after, std::int64_t before, std::size_t limit) {
    PruneRound round;
    store_->write(
        [&](store::Database& db) { round = prune_ended_executions(db, after, before, limit); });
    return round;
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(ExecutionRetentionTest, RemovesOnlyEndedRecordsOlderThanTheCutoff) {
  add("a-old-ended", 100, 200);
  add("b-old-running", 100, std::nullopt);  // still monitored: kept whatever its age
  add("c-recent-ended", 100, 900);
  add("d-delivered-late", 100, 200, 950);  // the delivery is its latest time
  const PruneRound round = prune("", 500, 100);
  EXPECT_EQ(round.examined, 4u);
  EXPECT_EQ(round.removed, 1u);
  EXPECT_TRUE(round.next_after.empty()) << "the round reached the end of the table";
  EXPECT_FALSE(exists("a-old-ended"));
  EXPECT_TRUE(exists("b-old-running"));
  EXPECT_TRUE(exists("c-recent-ended"));
  EXPECT_TRUE(exists("d-delivered-late"));
}

TEST_F(ExecutionRetentionTest, RecordsStoppedWithoutAnOutcomeAgeFromTheirAcceptance) {
  add("stopped", 100, std::nullopt);
  store_->write([](store::Database& db) {
    end_execution(
        db, ExecutionEnding{.request_id = "stopped", .monitoring = "stopped: request not found"});
  });
  EXPECT_EQ(prune("", 100, 10).removed, 0u);
  EXPECT_EQ(prune("", 101, 10).removed, 1u);
}

TEST_F(ExecutionRetentionTest, RoundsExamineAtMostTheirLimitAndResumeAfterIt) {
  for (int i = 0; i < 25; ++i) add(fmt::format("id-{:02}", i), 100, 200);
  PruneRound round = prune("", 1000, 10);
  EXPECT_EQ(round.examined, 10u);
  EXPECT_EQ(round.removed, 10u);
  EXPECT_EQ(round.next_after, "id-09");
  EXPECT_EQ(count(), 15u);
  round = prune(round.next_after, 1000, 10);
  EXPECT_EQ(round.next_after, "id-19");
  round = prune(round.next_after, 1000, 10);
  EXPECT_EQ(round.examined, 5u);
  EXPECT_TRUE(round.next_after.empty());
  EXPECT_EQ(count(), 0u);
  EXPECT_EQ(prune("", 1000, 10).examined, 0u);
}

TEST_F(ExecutionRetentionTest, SweepsTheWholeTableInRoundsAndCountsWhatItRemoved) {
  const std::int64_t now = now_ms();
  for (int i = 0; i < 30; ++i) add(fmt::format("old-{:02}", i), now - 60'000, now - 50'000);
  add("running", now - 60'000, std::nullopt);
  add("fresh", now, now);
  boost::asio::io_context io;
  // Rounds complete on the store's thread: keep the loop waiting for them.
  auto running = boost::asio::make_work_guard(io);
  prometheus::Registry registry;
  ExecutionRetention retention(*store_, io,
                               {.max_age = std::chrono::seconds(10),
                                .round_size = 7,
                                .round_pause = std::chrono::milliseconds(1),
                                .sweep_pause = std::chrono::milliseconds(5)},
                               registry);
  retention.start();
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (count() > 2 && std::chrono::steady_clock::now() < give_up) {
    io.run_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(count(), 2u);
  EXPECT_TRUE(exists("running"));
  EXPECT_TRUE(exists("fresh"));
  // The next sweeps find nothing more, and stop ends them.
  io.run_for(std::chrono::milliseconds(50));
  retention.stop();
  io.run_for(std::chrono::milliseconds(20));
  EXPECT_EQ(count(), 2u);
  double pruned = 0;
  for (const auto& family : registry.Collect()) {
    if (family.name == "flint_execution_records_pruned_total") {
      pruned = family.metric.at(0).counter.value;
    }
  }
  EXPECT_EQ(pruned, 30.0);
}

TEST_F(ExecutionRetentionTest, RefusesANonPositiveAge) {
  boost::asio::io_context io;
  prometheus::Registry registry;
  EXPECT_THROW(ExecutionRetention(*store_, io, {.max_age = std::chrono::milliseconds(0)}, registry),
               std::invalid_argument);
}

}  // namespace
}  // namespace flint::service
