#include "service/execution_records.hpp"

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "store/flint_schema.hpp"

namespace flint::service {
namespace {

class ExecutionRecordsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            (std::string("flint-records-") + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
    remove_files();
  }
  void TearDown() override { remove_files(); }

  void remove_files() {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(path_.string() + suffix);
    }
  }

  static AcceptedExecution accepted(const std::string& id, std::int64_t at) {
    return {.request_id = id,
            .driver = "noop",
            .lifecycle_name = "Create",
            .accepted_at = at,
            .deadline_at = at + 1000,
            .associated_topology = boost::json::object()};
  }

  // The request ids of a page's records, in its order.
  static std::vector<std::string> ids(const MonitoredPage& page) {
    std::vector<std::string> found;
    for (const auto& record : page.records) {
      found.emplace_back(record.at("requestId").as_string());
    }
    return found;
  }

  static std::int64_t count(store::Database& db, const std::string& sql) {
    auto statement = db.prepare(sql);
    statement.step();
    return statement.column_int(0);
  }

  std::filesystem::path path_;
};

TEST_F(ExecutionRecordsTest, AJobStaysWithItsRecordUntilTheEnding) {
  store::Database db(path_, store::Synchronous::normal);
  db.migrate(store::flint_schema());
  const std::string sealed("sealed\0job", 10);  // a blob, not text
  insert_execution(db, accepted("b", 20), /*if_absent=*/false, &sealed);
  insert_execution(db, accepted("a", 10), /*if_absent=*/false, &sealed);
  insert_execution(db, accepted("copy", 5), /*if_absent=*/false, /*sealed_job=*/nullptr);

  auto monitored = monitored_executions(db);
  ASSERT_EQ(monitored.size(), 2u);
  EXPECT_EQ(monitored[0].request_id, "a");  // oldest first
  EXPECT_EQ(monitored[0].sealed_job, sealed);
  EXPECT_EQ(monitored[0].deadline_at, 1010);
  EXPECT_EQ(monitored[1].request_id, "b");
  EXPECT_EQ(count_monitored_executions(db), 2);

  // The ending drops the job; a second ending changes nothing.
  EXPECT_TRUE(end_execution(db, ExecutionEnding{.request_id = "a", .status = "COMPLETE"}));
  EXPECT_FALSE(end_execution(db, ExecutionEnding{.request_id = "a", .status = "FAILED"}));
  EXPECT_TRUE(end_execution(db, ExecutionEnding{.request_id = "b", .monitoring = "stopped: gone"}));
  EXPECT_TRUE(monitored_executions(db).empty());
  EXPECT_EQ(count(db, "SELECT count(*) FROM executions WHERE job IS NOT NULL"), 0);
  EXPECT_EQ(read_execution(db, "a")->at("status"), "COMPLETE");
}

TEST_F(ExecutionRecordsTest, MonitoredExecutionsComeInPagesOldestFirst) {
  store::Database db(path_, store::Synchronous::normal);
  db.migrate(store::flint_schema());
  const std::string sealed = "job";
  // Two accepted in the same millisecond: the id orders them.
  for (const auto& [id, at] : {std::pair{"c", 30}, std::pair{"b", 20}, std::pair{"a2", 10},
                               std::pair{"a1", 10}, std::pair{"ended", 5}}) {
    insert_execution(db, accepted(id, at), /*if_absent=*/false, &sealed);
  }
  insert_execution(db, accepted("copy", 1), /*if_absent=*/false, /*sealed_job=*/nullptr);
  end_execution(db, ExecutionEnding{.request_id = "ended", .status = "COMPLETE"});

  auto page = read_monitored_executions(db, std::nullopt, 3);
  EXPECT_EQ(ids(page), (std::vector<std::string>{"a1", "a2", "b"}));
  ASSERT_TRUE(page.next);
  EXPECT_EQ(page.next->accepted_at, 20);
  EXPECT_EQ(page.next->request_id, "b");
  EXPECT_EQ(page.records[0].at("monitoring"), "active");
  EXPECT_EQ(page.records[0].at("acceptedAt"), "1970-01-01T00:00:00.010Z");
  EXPECT_EQ(page.records[0], *read_execution(db, "a1"));  // the same record as by id

  page = read_monitored_executions(db, page.next, 3);
  EXPECT_EQ(ids(page), (std::vector<std::string>{"c"}));
  EXPECT_FALSE(page.next);
  // A page that ends exactly at the last one says so.
  page = read_monitored_executions(db, MonitoredPosition{10, "a2"}, 2);
  EXPECT_EQ(ids(page), (std::vector<std::string>{"b", "c"}));
  EXPECT_FALSE(page.next);
  // Past the end.
  EXPECT_TRUE(read_monitored_executions(db, MonitoredPosition{30, "c"}, 5).records.empty());
}

TEST_F(ExecutionRecordsTest, AClusterNodesPageIsMadeOfThePositionsItHolds) {
  store::Database db(path_, store::Synchronous::normal);
  db.migrate(store::flint_schema());
  // A node's copies of the records, without jobs.
  for (const auto& [id, at] : {std::pair{"a", 10}, std::pair{"b", 20}, std::pair{"ended", 25},
                               std::pair{"c", 30}, std::pair{"d", 40}}) {
    insert_execution(db, accepted(id, at), /*if_absent=*/true, /*sealed_job=*/nullptr);
  }
  end_execution(db, ExecutionEnding{.request_id = "ended", .status = "COMPLETE"});
  const std::vector<MonitoredPosition> held{
      {10, "a"}, {15, "not-copied-yet"}, {20, "b"}, {25, "ended"}, {30, "c"}, {40, "d"}};

  // Positions without a monitored record are passed over, not counted.
  auto page = read_monitored_executions_at(db, held, 3);
  EXPECT_EQ(ids(page), (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_TRUE(page.next);
  EXPECT_EQ(*page.next, (MonitoredPosition{30, "c"}));
  EXPECT_EQ(page.records[1], *read_execution(db, "b"));
  // A page that ends at the last record says no more follow.
  page = read_monitored_executions_at(db, std::span(held).subspan(2), 3);
  EXPECT_EQ(ids(page), (std::vector<std::string>{"b", "c", "d"}));
  EXPECT_FALSE(page.next);
  EXPECT_TRUE(read_monitored_executions_at(db, {}, 3).records.empty());
}

TEST_F(ExecutionRecordsTest, MigrationMovesLifecycleJobsIntoTheirRecords) {
  {
    // A store written by a Flint whose jobs were rows of their own (schema 2).
    store::Database db(path_, store::Synchronous::normal);
    db.migrate(store::flint_schema().first(2));
    db.exec(
        "INSERT INTO executions (request_id, driver, lifecycle_name, status, monitoring, "
        "accepted_at, transitions) VALUES "
        "('running', 'noop', 'Create', 'IN_PROGRESS', 'active', 1, '[]'), "
        "('ended', 'noop', 'Create', 'COMPLETE', 'complete', 2, '[]');"
        "INSERT INTO jobs (kind, subject, payload, created_at, deadline_at) VALUES "
        "('lifecycle_execution', 'running', x'00ff', 1, 99), "
        "('infrastructure_task', 'task', x'01', 1, 99);");
  }
  store::Database db(path_, store::Synchronous::normal);
  db.migrate(store::flint_schema());

  const auto monitored = monitored_executions(db);
  ASSERT_EQ(monitored.size(), 1u);
  EXPECT_EQ(monitored[0].request_id, "running");
  EXPECT_EQ(monitored[0].sealed_job, std::string("\x00\xff", 2));
  EXPECT_EQ(monitored[0].deadline_at, 99);
  // Other kinds of jobs keep their rows.
  EXPECT_EQ(count(db, "SELECT count(*) FROM jobs WHERE kind = 'lifecycle_execution'"), 0);
  EXPECT_EQ(count(db, "SELECT count(*) FROM jobs WHERE kind = 'infrastructure_task'"), 1);
}

}  // namespace
}  // namespace flint::service
