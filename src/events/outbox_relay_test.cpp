#include "events/outbox_relay.hpp"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <sched.h>
#include <unistd.h>

#include "events/event_log.hpp"
#include "events/event_log_publisher.hpp"
#include "store/flint_schema.hpp"
#include "store/sqlite_database.hpp"

namespace flint::events {
namespace {

using namespace std::chrono_literals;

// Refuses the events of one topic while `refusing` is set, as Kafka does a
// topic it does not know: takes the rest of each batch and says which topic
// it did not take.
class TopicRefusingPublisher final : public EventPublisher {
 public:
  explicit TopicRefusingPublisher(std::string topic) : topic_(std::move(topic)) {}
  void publish(std::span<const OutboxEvent> batch) override {
    std::lock_guard lock(mutex_);
    bool refused = false;
    for (const auto& e : batch) {
      if (refusing.load() && e.topic == topic_) {
        refused = true;
      } else {
        ids_.push_back(e.event_id);
      }
    }
    if (refused) throw TopicsNotDelivered("topic " + topic_ + ": unknown topic", {topic_});
  }
  std::string_view name() const noexcept override { return "refusing"; }
  std::vector<std::string> ids() const {
    std::lock_guard lock(mutex_);
    return ids_;
  }
  std::atomic<bool> refusing{true};

 private:
  std::string topic_;
  mutable std::mutex mutex_;
  std::vector<std::string> ids_;
};

// Records every batch; fails while `failing` is set.
class RecordingPublisher final : public EventPublisher {
 public:
  explicit RecordingPublisher(std::string name) : name_(std::move(name)) {}
  void publish(std::span<const OutboxEvent> batch) override {
    ++calls;
    policy = sched_getscheduler(0);
    while (blocked.load() && !interrupted.load()) std::this_thread::sleep_for(1ms);
    if (failing.load()) throw std::runtime_error("broker unavailable");
    std::lock_guard lock(mutex_);
    for (const auto& e : batch) ids_.push_back(e.event_id);
  }
  void sync() override {
    ++syncs;
    if (failing_sync.load()) throw std::runtime_error("fsync: input/output error");
  }
  void interrupt() noexcept override { interrupted = true; }
  std::string_view name() const noexcept override { return name_; }
  std::vector<std::string> ids() const {
    std::lock_guard lock(mutex_);
    return ids_;
  }
  std::atomic<bool> failing{false};
  std::atomic<bool> failing_sync{false};
  std::atomic<bool> blocked{false};  // publish waits (a broker away) until cleared
  std::atomic<bool> interrupted{false};
  std::atomic<int> calls{0};
  std::atomic<int> syncs{0};    // sync calls, failed ones included
  std::atomic<int> policy{-1};  // the scheduling class of the thread that published

 private:
  std::string name_;
  mutable std::mutex mutex_;
  std::vector<std::string> ids_;
};

template <class Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return predicate();
}

class OutboxRelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("flint-outbox-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    db_ = std::make_unique<store::Database>(dir_ / "flint.db", store::Synchronous::normal);
    db_->migrate(store::flint_schema());  // the real main database, outbox included
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Writes events `from`..`to` to the outbox in one transaction, as the
  // execution store does with its terminal states.
  void write_outbox(int from, int to, std::int64_t created_at = 0,
                    const std::function<std::string(int)>& topic = {}) {
    store::Transaction transaction(*db_);
    auto insert = db_->prepare(
        "INSERT INTO outbox (event_id, topic, event_key, tenant_id, payload, created_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    for (int n = from; n <= to; ++n) {
      insert.bind(1, "event-" + std::to_string(n))
          .bind(2, topic ? topic(n) : std::string("lifecycle_execution_events"))
          .bind(3, "request-" + std::to_string(n % 7))
          .bind(4,
                std::optional<std::string>(n % 2 ? std::optional<std::string>("t1") : std::nullopt))
          .bind(5, R"({"requestId":"request-)" + std::to_string(n) + R"("})")
          .bind(6, created_at ? created_at
                              : std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count());
      insert.run();
    }
    transaction.commit();
  }

  std::int64_t outbox_rows() {
    auto count = db_->prepare("SELECT count(*) FROM outbox");
    count.step();
    return count.column_int(0);
  }

  OutboxRelay::Options options() const {
    OutboxRelay::Options o;
    o.database = dir_ / "flint.db";
    o.batch_size = 64;
    o.retry_min = 10ms;
    o.retry_max = 40ms;
    return o;
  }

  // Starts `relay` on events 1..10, which it syncs and deletes at once (the
  // first batch after a quiet time), then has it deliver events 11..`last`.
  void deliver_first_then_more(OutboxRelay& relay, int last) {
    write_outbox(1, 10);
    relay.start();
    ASSERT_TRUE(eventually([&] { return outbox_rows() == 0; }));
    write_outbox(11, last);
    relay.notify();
    ASSERT_TRUE(eventually([&] { return relay.delivered() == static_cast<std::uint64_t>(last); }));
  }

  static std::vector<std::string> ids(int from, int to) {
    std::vector<std::string> out;
    for (int n = from; n <= to; ++n) out.push_back("event-" + std::to_string(n));
    return out;
  }

  double backlog_gauge() {
    for (const auto& family : registry_.Collect()) {
      if (family.name == "flint_outbox_backlog") return family.metric.at(0).gauge.value;
    }
    return -1;
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Database> db_;
  prometheus::Registry registry_;
  OutboxProbe probe_{registry_};
};

TEST_F(OutboxRelayTest, DeliversInOrderThenDeletesAndTellsListeners) {
  write_outbox(1, 500);
  RecordingPublisher publisher("recording");
  OutboxRelay relay(options(), {&publisher}, probe_);
  std::vector<std::string> listened;
  std::vector<std::size_t> listened_batches;
  relay.on_delivered([&](std::span<const OutboxEvent> batch) {
    listened_batches.push_back(batch.size());
    for (const OutboxEvent& event : batch) listened.push_back(event.event_id);
  });
  relay.start();
  ASSERT_TRUE(eventually([&] { return relay.delivered() == 500; }));
  relay.stop();

  EXPECT_EQ(publisher.ids(), ids(1, 500));
  EXPECT_EQ(listened, ids(1, 500));
  EXPECT_EQ(outbox_rows(), 0);
  EXPECT_EQ(publisher.calls.load(), 8);  // 500 rows in batches of 64
  // Listeners hear each published batch once, as published.
  EXPECT_EQ(listened_batches, (std::vector<std::size_t>{64, 64, 64, 64, 64, 64, 64, 52}));
  // A commit's wake-up must not preempt the store writer.
  EXPECT_EQ(publisher.policy.load(), SCHED_BATCH);
}

TEST_F(OutboxRelayTest, OneSyncCoversTheBatchesOfAnIntervalAndPrecedesTheirDeletion) {
  RecordingPublisher publisher("recording");
  auto o = options();
  o.sync_interval = 3s;
  OutboxRelay relay(o, {&publisher}, probe_);
  ASSERT_NO_FATAL_FAILURE(deliver_first_then_more(relay, 200));  // three more batches
  // Delivered, but kept until the publishers' next sync, within the interval.
  EXPECT_EQ(publisher.syncs.load(), 1);
  EXPECT_EQ(outbox_rows(), 190);
  ASSERT_TRUE(eventually([&] { return outbox_rows() == 0; }, 10s));
  EXPECT_EQ(publisher.syncs.load(), 2);
  EXPECT_EQ(publisher.ids(), ids(1, 200));
  relay.stop();
}

TEST_F(OutboxRelayTest, AFailingSyncKeepsTheRowsAndIsRetriedWithoutRedelivery) {
  RecordingPublisher publisher("recording");
  publisher.failing_sync = true;
  OutboxRelay relay(options(), {&publisher}, probe_);
  write_outbox(1, 10);
  relay.start();
  ASSERT_TRUE(eventually([&] { return relay.delivered() == 10 && publisher.syncs.load() >= 3; }));
  EXPECT_EQ(outbox_rows(), 10);
  publisher.failing_sync = false;
  ASSERT_TRUE(eventually([&] { return outbox_rows() == 0; }));
  relay.stop();
  EXPECT_EQ(publisher.calls.load(), 1);
  EXPECT_EQ(publisher.ids(), ids(1, 10));
}

TEST_F(OutboxRelayTest, StopSyncsAndDeletesWhatWasDelivered) {
  RecordingPublisher publisher("recording");
  auto o = options();
  o.sync_interval = 1h;
  OutboxRelay relay(o, {&publisher}, probe_);
  ASSERT_NO_FATAL_FAILURE(deliver_first_then_more(relay, 20));
  EXPECT_EQ(outbox_rows(), 10);
  relay.stop();
  EXPECT_EQ(publisher.syncs.load(), 2);
  EXPECT_EQ(outbox_rows(), 0);
}

TEST_F(OutboxRelayTest, ReadsPastDeliveredRowsWithoutWaitingForTheirDeletion) {
  // An owner that queues the deletions and commits them later (here: never,
  // as if its commits were slow or failed): the relay still delivers each
  // event once, in order, and acknowledges ever higher seqs.
  write_outbox(1, 200);
  RecordingPublisher publisher("recording");
  std::mutex mutex;
  std::vector<std::int64_t> acknowledged;
  auto o = options();
  o.acknowledge = [&](const DeliveredRows& rows) {
    std::lock_guard lock(mutex);
    EXPECT_TRUE(rows.held.empty());
    acknowledged.push_back(rows.through);
  };
  OutboxRelay relay(o, {&publisher}, probe_);
  relay.start();
  ASSERT_TRUE(eventually([&] { return relay.delivered() == 200; }));
  write_outbox(201, 210);
  relay.notify();
  ASSERT_TRUE(eventually([&] { return relay.delivered() == 210; }));
  // The backlog counts what is not yet delivered, not what awaits deletion.
  EXPECT_TRUE(eventually([&] { return relay.backlog() == 0; }));
  relay.stop();

  EXPECT_EQ(publisher.ids(), ids(1, 210));
  EXPECT_EQ(outbox_rows(), 210);  // nothing deleted: the owner never committed
  std::lock_guard lock(mutex);
  ASSERT_FALSE(acknowledged.empty());
  EXPECT_TRUE(std::is_sorted(acknowledged.begin(), acknowledged.end()));
  EXPECT_EQ(acknowledged.back(), 210);

  // A restart reads from the first row still there: all of it again
  // (publishers are idempotent by event id).
  RecordingPublisher again("again");
  OutboxRelay restarted(options(), {&again}, probe_);
  restarted.start();
  ASSERT_TRUE(eventually([&] { return restarted.delivered() == 210; }));
  restarted.stop();
  EXPECT_EQ(again.ids(), ids(1, 210));
}

TEST_F(OutboxRelayTest, AFailingPublisherKeepsTheRowsUntilItRecovers) {
  write_outbox(1, 10);
  RecordingPublisher healthy("healthy");
  RecordingPublisher flaky("flaky");
  flaky.failing = true;
  OutboxRelay relay(options(), {&healthy, &flaky}, probe_);
  std::atomic<int> listened{0};
  relay.on_delivered(
      [&](std::span<const OutboxEvent> batch) { listened += static_cast<int>(batch.size()); });
  relay.start();

  ASSERT_TRUE(eventually([&] { return flaky.calls.load() >= 4; }));  // retried with back-off
  EXPECT_EQ(outbox_rows(), 10);
  EXPECT_EQ(listened.load(), 0);
  EXPECT_EQ(relay.delivered(), 0U);
  // The publisher that took the batch is not asked again for it.
  EXPECT_EQ(healthy.calls.load(), 1);

  write_outbox(11, 12);  // arrives meanwhile: must not overtake the stuck batch
  relay.notify();
  flaky.failing = false;
  ASSERT_TRUE(eventually([&] { return relay.delivered() == 12; }));
  relay.stop();
  EXPECT_EQ(flaky.ids(), ids(1, 12));
  EXPECT_EQ(healthy.ids(), ids(1, 12));
  EXPECT_EQ(outbox_rows(), 0);
  EXPECT_EQ(listened.load(), 12);

  const auto families = registry_.Collect();
  double failures = 0;
  for (const auto& family : families) {
    if (family.name != "flint_event_delivery_failures_total") continue;
    for (const auto& metric : family.metric) failures += metric.counter.value;
  }
  EXPECT_GE(failures, 4);
}

TEST_F(OutboxRelayTest, ATopicAPublisherRefusesIsHeldBackWhileTheOthersGoOn) {
  // Every third event is an infrastructure event, which the publisher
  // refuses (its Kafka topic missing, say): the lifecycle events must not
  // wait for it.
  const auto topic = [](int n) {
    return n % 3 == 0 ? std::string("infrastructure_task_events")
                      : std::string("lifecycle_execution_events");
  };
  const auto of_topic = [&](int from, int to, bool infrastructure) {
    std::vector<std::string> out;
    for (int n = from; n <= to; ++n) {
      if ((n % 3 == 0) == infrastructure) out.push_back("event-" + std::to_string(n));
    }
    return out;
  };
  write_outbox(1, 30, 0, topic);
  TopicRefusingPublisher refusing("infrastructure_task_events");
  RecordingPublisher recording("recording");
  std::mutex mutex;
  std::vector<std::string> told;  // what listeners were told was delivered
  OutboxRelay relay(options(), {&recording, &refusing}, probe_);
  relay.on_delivered([&](std::span<const OutboxEvent> events) {
    std::lock_guard lock(mutex);
    for (const auto& e : events) told.push_back(e.event_id);
  });
  relay.start();
  ASSERT_TRUE(eventually([&] { return relay.delivered() == 20; }));
  // Only the held topic's rows stay; later events of the others go on.
  ASSERT_TRUE(eventually([&] { return outbox_rows() == 10; }));
  write_outbox(31, 60, 0, topic);
  relay.notify();
  ASSERT_TRUE(eventually([&] { return relay.delivered() == 40; }));
  ASSERT_TRUE(eventually([&] { return outbox_rows() == 20; }));
  EXPECT_TRUE(eventually([&] { return relay.backlog() == 20; }));
  const auto held = relay.held();
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held.begin()->first, "infrastructure_task_events");
  EXPECT_THAT(held.begin()->second, ::testing::HasSubstr("unknown topic"));
  EXPECT_EQ(refusing.ids(), of_topic(1, 60, false));

  // The topic comes back: its events arrive, in order, and their rows go.
  refusing.refusing = false;
  ASSERT_TRUE(eventually([&] { return relay.delivered() == 60; }));
  ASSERT_TRUE(eventually([&] { return outbox_rows() == 0; }));
  EXPECT_TRUE(relay.held().empty());
  relay.stop();
  auto delivered = refusing.ids();
  const auto lifecycle = of_topic(1, 60, false);
  const auto infrastructure = of_topic(1, 60, true);
  ASSERT_EQ(delivered.size(), 60u);
  EXPECT_EQ(std::vector<std::string>(delivered.begin(), delivered.begin() + 40), lifecycle);
  EXPECT_EQ(std::vector<std::string>(delivered.begin() + 40, delivered.end()), infrastructure);
  // Each event was told once to the listeners.
  std::lock_guard lock(mutex);
  std::ranges::sort(told);
  auto all = ids(1, 60);
  std::ranges::sort(all);
  EXPECT_EQ(told, all);
}

TEST_F(OutboxRelayTest, HeldRowsSurviveAStopAndAreDeliveredAtTheNextStart) {
  write_outbox(1, 9, 0, [](int n) {
    return n % 3 == 0 ? std::string("infrastructure_task_events")
                      : std::string("lifecycle_execution_events");
  });
  {
    TopicRefusingPublisher refusing("infrastructure_task_events");
    OutboxRelay relay(options(), {&refusing}, probe_);
    relay.start();
    ASSERT_TRUE(eventually([&] { return relay.delivered() == 6; }));
    ASSERT_TRUE(eventually([&] { return outbox_rows() == 3; }));
    relay.stop();
  }
  EXPECT_EQ(outbox_rows(), 3);
  RecordingPublisher recording("recording");
  OutboxRelay relay(options(), {&recording}, probe_);
  relay.start();
  ASSERT_TRUE(eventually([&] { return outbox_rows() == 0; }));
  relay.stop();
  EXPECT_EQ(recording.ids(), (std::vector<std::string>{"event-3", "event-6", "event-9"}));
}

TEST_F(OutboxRelayTest, EachPublishersSeriesExistFromTheStartAtZero) {
  RecordingPublisher log("event-log");
  RecordingPublisher kafka("kafka");
  OutboxRelay relay(options(), {&log, &kafka}, probe_);
  std::map<std::string, std::vector<std::pair<std::string, double>>> series;
  for (const auto& family : registry_.Collect()) {
    for (const auto& metric : family.metric) {
      for (const auto& label : metric.label) {
        if (label.name == "publisher") {
          series[family.name].emplace_back(label.value, metric.counter.value);
        }
      }
    }
  }
  for (const auto* name : {"flint_event_delivery_failures_total", "flint_events_delivered_total"}) {
    EXPECT_THAT(series[name], ::testing::UnorderedElementsAre(std::pair{"event-log", 0.0},
                                                              std::pair{"kafka", 0.0}))
        << name;
  }
}

TEST_F(OutboxRelayTest, TheBacklogShowsWhatWaitsWhileAPublishWaits) {
  write_outbox(1, 10);
  RecordingPublisher publisher("recording");
  publisher.blocked = true;  // as librdkafka waits up to messaging.delivery_timeout
  OutboxRelay relay(options(), {&publisher}, probe_);
  relay.start();
  ASSERT_TRUE(eventually([&] { return publisher.calls.load() == 1; }));
  EXPECT_EQ(relay.backlog(), 10);
  // Events committed while the publish waits count at once, not at the next
  // count of the table (after the publish, up to messaging.delivery_timeout).
  write_outbox(11, 30);
  relay.notify(20);
  EXPECT_EQ(relay.backlog(), 30);
  EXPECT_EQ(backlog_gauge(), 30);
  publisher.blocked = false;
  ASSERT_TRUE(eventually([&] { return relay.delivered() == 30; }));
  EXPECT_TRUE(eventually([&] { return relay.backlog() == 0 && backlog_gauge() == 0; }));
  relay.stop();
}

TEST_F(OutboxRelayTest, NotifyWakesItAtOnce) {
  RecordingPublisher publisher("recording");
  auto o = options();
  o.idle_wake = 30s;  // only notify can explain a quick delivery
  OutboxRelay relay(o, {&publisher}, probe_);
  relay.start();
  std::this_thread::sleep_for(50ms);  // let it go idle
  write_outbox(1, 1);
  const auto notified = std::chrono::steady_clock::now();
  relay.notify();
  ASSERT_TRUE(eventually([&] { return relay.delivered() == 1; }, 2s));
  EXPECT_LT(std::chrono::steady_clock::now() - notified, 500ms);
  relay.stop();
}

TEST_F(OutboxRelayTest, WakesOnItsOwnWithoutNotify) {
  RecordingPublisher publisher("recording");
  auto o = options();
  o.idle_wake = 100ms;
  OutboxRelay relay(o, {&publisher}, probe_);
  relay.start();
  std::this_thread::sleep_for(20ms);
  write_outbox(1, 3);
  ASSERT_TRUE(eventually([&] { return relay.delivered() == 3; }, 2s));
  relay.stop();
}

TEST_F(OutboxRelayTest, StopCutsABackOffShortAndLeavesTheRows) {
  write_outbox(1, 3);
  RecordingPublisher publisher("down");
  publisher.failing = true;
  auto o = options();
  o.retry_min = 10s;
  o.retry_max = 10s;
  OutboxRelay relay(o, {&publisher}, probe_);
  relay.start();
  ASSERT_TRUE(eventually([&] { return publisher.calls.load() == 1; }));
  const auto stopping = std::chrono::steady_clock::now();
  relay.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, 1s);
  EXPECT_EQ(outbox_rows(), 3);
}

TEST_F(OutboxRelayTest, RedeliveryAfterARestartIsDeduplicatedByTheEventLog) {
  EventLogOptions log_options;
  log_options.path = dir_ / "events.db";
  EventLog log(log_options);
  EventLogPublisher publisher(log);
  write_outbox(1, 5);
  // A previous run published these but died before deleting the rows.
  {
    store::Database reader(dir_ / "flint.db", store::Synchronous::normal);
    std::vector<OutboxEvent> batch;
    auto read = reader.prepare("SELECT seq, event_id, topic, payload, created_at FROM outbox");
    while (read.step()) {
      batch.push_back(OutboxEvent{read.column_int(0), std::string(read.column_text(1)),
                                  std::string(read.column_text(2)), std::nullopt, std::nullopt,
                                  std::string(read.column_text(3)), read.column_int(4)});
    }
    publisher.publish(batch);
  }
  OutboxRelay relay(options(), {&publisher}, probe_);
  relay.start();
  ASSERT_TRUE(eventually([&] { return relay.delivered() == 5; }));
  relay.stop();
  EXPECT_EQ(log.size(), 5);
  EXPECT_EQ(log.last_seq(), 5);
  EXPECT_EQ(outbox_rows(), 0);
  const auto events = log.read(0, 10);
  EXPECT_EQ(events.front().event.event_id, "event-1");
  EXPECT_EQ(events.back().event.event_id, "event-5");
}

TEST_F(OutboxRelayTest, RecordsLatencyFromCreation) {
  const auto an_hour_ago =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          (std::chrono::system_clock::now() - std::chrono::hours(1)).time_since_epoch())
          .count();
  write_outbox(1, 2, an_hour_ago);
  RecordingPublisher publisher("recording");
  OutboxRelay relay(options(), {&publisher}, probe_);
  relay.start();
  ASSERT_TRUE(eventually([&] { return relay.delivered() == 2; }));
  relay.stop();
  for (const auto& family : registry_.Collect()) {
    if (family.name != "flint_event_delivery_latency_seconds") continue;
    ASSERT_EQ(family.metric.size(), 1U);
    EXPECT_EQ(family.metric[0].histogram.sample_count, 2U);
    EXPECT_GE(family.metric[0].histogram.sample_sum, 2 * 3600.0);
  }
}

TEST_F(OutboxRelayTest, RejectsBadSetup) {
  RecordingPublisher publisher("recording");
  EXPECT_THROW(OutboxRelay(options(), {}, probe_), std::invalid_argument);
  EXPECT_THROW(OutboxRelay(options(), {nullptr}, probe_), std::invalid_argument);
  auto o = options();
  o.batch_size = 0;
  EXPECT_THROW(OutboxRelay(o, {&publisher}, probe_), std::invalid_argument);
  o = options();
  o.database = dir_ / "empty.db";  // no outbox table
  EXPECT_THROW(OutboxRelay(o, {&publisher}, probe_), store::SqliteError);
}

}  // namespace
}  // namespace flint::events
