#include "events/event_log.hpp"

#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

#include "events/event_log_publisher.hpp"

namespace flint::events {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

OutboxEvent make_event(int n, std::optional<std::string> tenant = std::nullopt) {
  OutboxEvent event;
  event.seq = n;
  event.event_id = "id-" + std::to_string(n);
  event.topic = "lifecycle_execution_events";
  event.key = "request-" + std::to_string(n);
  event.tenant_id = std::move(tenant);
  event.payload = R"({"requestId":"request-)" + std::to_string(n) + R"(","status":"COMPLETE"})";
  event.created_at = 1'700'000'000'000 + n;
  return event;
}

std::vector<OutboxEvent> make_events(int from, int to) {
  std::vector<OutboxEvent> events;
  for (int n = from; n <= to; ++n) events.push_back(make_event(n));
  return events;
}

std::vector<std::int64_t> seqs(const std::vector<LoggedEvent>& events) {
  std::vector<std::int64_t> out;
  for (const auto& e : events) out.push_back(e.seq);
  return out;
}

class EventLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("flint-events-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  EventLogOptions options() const {
    EventLogOptions o;
    o.path = dir_ / "events.db";
    o.prune_interval = 0ms;
    return o;
  }

  // Runs `wait_after` on a strand of a fresh io_context; returns its result
  // and how long it took.
  std::pair<bool, std::chrono::steady_clock::duration> timed_wait(
      EventLog& log, std::int64_t after, std::chrono::milliseconds timeout,
      const std::function<void()>& meanwhile = {}) {
    asio::io_context io;
    std::promise<bool> result;
    const auto started = std::chrono::steady_clock::now();
    asio::co_spawn(
        asio::make_strand(io),
        [&]() -> asio::awaitable<void> {
          result.set_value(co_await log.wait_after(after, started + timeout));
        },
        asio::detached);
    std::thread runner([&] { io.run(); });
    if (meanwhile) meanwhile();
    runner.join();
    return {result.get_future().get(), std::chrono::steady_clock::now() - started};
  }

  std::filesystem::path dir_;
};

TEST_F(EventLogTest, AppendIsIdempotentPerEventIdAndSeqIsMonotonic) {
  EventLog log(options());
  EXPECT_EQ(log.last_seq(), 0);
  EXPECT_EQ(log.first_seq(), 0);

  EXPECT_EQ(log.append(make_events(1, 3)), 3U);
  EXPECT_EQ(log.last_seq(), 3);
  // A redelivery of the same events plus one new one: only the new one counts.
  EXPECT_EQ(log.append(make_events(1, 4)), 1U);
  EXPECT_EQ(log.append(make_events(2, 2)), 0U);
  EXPECT_EQ(log.last_seq(), 4);
  EXPECT_EQ(log.size(), 4);

  const auto events = log.read(0, 100);
  ASSERT_EQ(events.size(), 4U);
  EXPECT_EQ(seqs(events), (std::vector<std::int64_t>{1, 2, 3, 4}));
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].event.event_id, "id-" + std::to_string(i + 1));
  }
}

TEST_F(EventLogTest, NamesTheEventKeptAtASequenceNumber) {
  EventLog log(options());
  log.append(make_events(1, 3));
  EXPECT_EQ(log.event_id_at(2), "id-2");
  EXPECT_EQ(log.event_id_at(4), std::nullopt) << "not assigned yet";
  EXPECT_EQ(log.event_id_at(0), std::nullopt);
}

TEST_F(EventLogTest, SyncCoversEveryAppendBeforeIt) {
  for (const auto synchronous : {store::Synchronous::normal, store::Synchronous::full}) {
    auto o = options();
    o.synchronous = synchronous;
    {
      EventLog log(o);
      EXPECT_NO_THROW(log.sync());  // nothing appended yet
      EXPECT_EQ(log.append(make_events(1, 3)), 3U);
      EXPECT_EQ(log.append(make_events(4, 5)), 2U);
      EXPECT_NO_THROW(log.sync());
    }
    EventLog reopened(o);
    EXPECT_EQ(reopened.size(), 5);
    std::filesystem::remove_all(dir_ / "events.db");
    std::filesystem::remove_all(dir_ / "events.db-wal");
    std::filesystem::remove_all(dir_ / "events.db-shm");
  }
}

TEST_F(EventLogTest, ReadsEveryFieldBackAndPages) {
  EventLog log(options());
  auto first = make_event(1, "tenant-a");
  first.key.reset();
  log.append(std::span(&first, 1));
  log.append(make_events(2, 10));

  const auto one = log.read(0, 1);
  ASSERT_EQ(one.size(), 1U);
  EXPECT_EQ(one[0].seq, 1);
  EXPECT_EQ(one[0].event.event_id, "id-1");
  EXPECT_EQ(one[0].event.topic, "lifecycle_execution_events");
  EXPECT_FALSE(one[0].event.key.has_value());
  EXPECT_EQ(one[0].event.tenant_id, "tenant-a");
  EXPECT_EQ(one[0].event.payload, first.payload);
  EXPECT_EQ(one[0].event.created_at, first.created_at);
  EXPECT_GT(one[0].appended_at, 1'700'000'000'000);

  const auto second = log.read(0, 100)[1];
  EXPECT_EQ(second.event.key, "request-2");
  EXPECT_FALSE(second.event.tenant_id.has_value());

  EXPECT_EQ(seqs(log.read(0, 4)), (std::vector<std::int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(seqs(log.read(4, 4)), (std::vector<std::int64_t>{5, 6, 7, 8}));
  EXPECT_EQ(seqs(log.read(8, 4)), (std::vector<std::int64_t>{9, 10}));
  EXPECT_TRUE(log.read(10, 4).empty());
  EXPECT_TRUE(log.read(0, 0).empty());
}

TEST_F(EventLogTest, APageStopsOnceItsPayloadsReachTheByteBound) {
  EventLog log(options());
  log.append(make_events(1, 10));
  const std::size_t one = log.read(0, 1)[0].event.payload.size();
  EXPECT_EQ(seqs(log.read(0, 100, 3 * one)), (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(seqs(log.read(0, 100, 3 * one - 1)), (std::vector<std::int64_t>{1, 2, 3}));
  // One event at least, whatever its size: a reader always advances.
  EXPECT_EQ(seqs(log.read(4, 100, 1)), (std::vector<std::int64_t>{5}));
  EXPECT_EQ(log.read_error(), "");
}

TEST_F(EventLogTest, KeepsSequenceAcrossReopen) {
  {
    EventLog log(options());
    log.append(make_events(1, 5));
  }
  EventLog log(options());
  EXPECT_EQ(log.last_seq(), 5);
  EXPECT_EQ(log.append(make_events(5, 6)), 1U);
  EXPECT_EQ(log.read(5, 10).at(0).seq, 6);
}

TEST_F(EventLogTest, RetentionByCountKeepsTheNewest) {
  auto o = options();
  o.max_events = 3;
  EventLog log(o);
  log.append(make_events(1, 5));
  EXPECT_EQ(log.prune(), 2U);
  EXPECT_EQ(log.size(), 3);
  EXPECT_EQ(log.first_seq(), 3);
  EXPECT_EQ(log.last_seq(), 5);
  // A reader behind retention continues from the oldest event kept.
  EXPECT_EQ(seqs(log.read(0, 10)), (std::vector<std::int64_t>{3, 4, 5}));
  EXPECT_EQ(log.prune(), 0U);
}

TEST_F(EventLogTest, RetentionByAgeNeverReusesSequenceNumbers) {
  auto o = options();
  o.max_age = std::chrono::hours(1);
  {
    EventLog log(o);
    log.append(make_events(1, 5));
    EXPECT_EQ(log.prune(), 0U);  // all younger than an hour
    EXPECT_EQ(log.prune(std::chrono::system_clock::now() + std::chrono::minutes(59)), 0U);
    EXPECT_EQ(log.prune(std::chrono::system_clock::now() + std::chrono::hours(2)), 5U);
    EXPECT_EQ(log.size(), 0);
    EXPECT_EQ(log.first_seq(), 0);
    EXPECT_EQ(log.last_seq(), 5);
  }
  EventLog log(o);
  EXPECT_EQ(log.last_seq(), 5);
  log.append(make_events(6, 6));
  EXPECT_EQ(seqs(log.read(0, 10)), (std::vector<std::int64_t>{6}));
}

// Sets when events `from`..`to` were appended, as if the clock had said so.
void set_appended_at(const std::filesystem::path& path, int from, int to,
                     std::chrono::system_clock::time_point at) {
  store::Database db(path, store::Synchronous::normal);
  db.prepare("UPDATE events SET appended_at = ? WHERE seq BETWEEN ? AND ?")
      .bind(1, std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count())
      .bind(2, from)
      .bind(3, to)
      .run();
}

TEST_F(EventLogTest, RetentionByAgeRemovesOnlyAPrefix) {
  auto o = options();
  o.max_age = std::chrono::hours(1);
  EventLog log(o);
  log.append(make_events(1, 5));
  const auto now = std::chrono::system_clock::now();
  // 3 is young; 4 and 5 look old, appended after the clock stepped back.
  set_appended_at(o.path, 1, 2, now - std::chrono::hours(2));
  set_appended_at(o.path, 4, 5, now - std::chrono::hours(2));
  EXPECT_EQ(log.prune(now), 2U);
  EXPECT_EQ(seqs(log.read(0, 10)), (std::vector<std::int64_t>{3, 4, 5}));
  set_appended_at(o.path, 3, 3, now - std::chrono::hours(2));
  EXPECT_EQ(log.prune(now), 3U);
  EXPECT_EQ(log.size(), 0);
  EXPECT_EQ(log.last_seq(), 5);
}

TEST_F(EventLogTest, OpensALogOfTheFirstSchema) {
  const auto path = options().path;
  {
    store::Database db(path, store::Synchronous::normal);
    db.exec(
        "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL "
        "UNIQUE, topic TEXT NOT NULL, event_key TEXT, tenant_id TEXT, payload TEXT NOT NULL, "
        "created_at INTEGER NOT NULL, appended_at INTEGER NOT NULL);"
        "CREATE INDEX events_appended_at ON events (appended_at);"
        "INSERT INTO events (event_id, topic, payload, created_at, appended_at) "
        "VALUES ('old', 't', '{}', 1, 1);"
        "PRAGMA user_version = 1;");
  }
  EventLog log(options());
  EXPECT_EQ(log.last_seq(), 1);
  log.append(make_events(2, 2));
  EXPECT_EQ(seqs(log.read(0, 10)), (std::vector<std::int64_t>{1, 2}));
  store::Database db(path, store::Synchronous::normal);
  auto index = db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'events_appended_at'");
  index.step();
  EXPECT_EQ(index.column_int(0), 0);
}

TEST_F(EventLogTest, AppendPrunesWhenTheIntervalHasPassed) {
  auto o = options();
  o.max_events = 2;
  o.prune_interval = 1ms;
  EventLog log(o);
  log.append(make_events(1, 3));
  std::this_thread::sleep_for(5ms);
  log.append(make_events(4, 4));
  EXPECT_EQ(log.size(), 2);
  EXPECT_EQ(log.first_seq(), 3);
}

TEST_F(EventLogTest, AppendKeepsTheCountBetweenPrunes) {
  auto o = options();
  o.max_events = 3;
  o.prune_interval = std::chrono::hours(1);  // the age rule waits; the count does not
  EventLog log(o);
  log.append(make_events(1, 2));
  EXPECT_EQ(log.size(), 2);
  log.append(make_events(3, 5));
  EXPECT_EQ(log.size(), 3);
  EXPECT_EQ(log.first_seq(), 3);
  log.append(make_events(5, 5));  // kept already: nothing appended, nothing removed
  EXPECT_EQ(log.size(), 3);
  log.append(make_events(6, 9));
  EXPECT_EQ(seqs(log.read(0, 10)), (std::vector<std::int64_t>{7, 8, 9}));
}

TEST_F(EventLogTest, WaitWakesOnAppend) {
  EventLog log(options());
  log.append(make_events(1, 1));
  const auto [found, took] = timed_wait(log, 1, 5s, [&] {
    std::this_thread::sleep_for(50ms);
    log.append(make_events(2, 2));
  });
  EXPECT_TRUE(found);
  EXPECT_GE(took, 50ms);
  EXPECT_LT(took, 1s);
}

TEST_F(EventLogTest, WaitReturnsAtOnceWhenEventsExist) {
  EventLog log(options());
  log.append(make_events(1, 2));
  const auto [found, took] = timed_wait(log, 1, 5s);
  EXPECT_TRUE(found);
  EXPECT_LT(took, 500ms);
}

TEST_F(EventLogTest, WaitTimesOut) {
  EventLog log(options());
  log.append(make_events(1, 1));
  const auto [found, took] = timed_wait(log, 1, 150ms);
  EXPECT_FALSE(found);
  EXPECT_GE(took, 150ms);
  EXPECT_LT(took, 2s);
}

TEST_F(EventLogTest, StopWaitingEndsWaits) {
  EventLog log(options());
  const auto [found, took] = timed_wait(log, 0, 10s, [&] {
    std::this_thread::sleep_for(50ms);
    log.stop_waiting();
  });
  EXPECT_FALSE(found);
  EXPECT_LT(took, 2s);
  // Later waits do not wait at all.
  const auto [again, quick] = timed_wait(log, 0, 10s);
  EXPECT_FALSE(again);
  EXPECT_LT(quick, 500ms);
}

TEST_F(EventLogTest, PublisherAppendsIdempotently) {
  EventLog log(options());
  EventLogPublisher publisher(log);
  EXPECT_EQ(publisher.name(), "event-log");
  const auto batch = make_events(1, 3);
  publisher.publish(batch);
  publisher.publish(batch);
  EXPECT_EQ(log.size(), 3);
  EXPECT_EQ(log.last_seq(), 3);
}

TEST_F(EventLogTest, OpeningANonDatabaseFailsNamingTheFile) {
  {
    std::ofstream junk(dir_ / "events.db");
    junk << std::string(4096, 'x');
  }
  try {
    EventLog log(options());
    FAIL() << "expected an error";
  } catch (const store::SqliteError& e) {
    EXPECT_NE(std::string(e.what()).find("events.db"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace flint::events
