#include "events/outbox_relay.hpp"

#include <algorithm>
#include <random>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

#include "logging/logging.hpp"
#include "logging/thread_name.hpp"
#include "store/sqlite_database.hpp"

namespace flint::events {
namespace {

std::shared_ptr<spdlog::logger> log() {
  static const auto logger = logging::logger("events");
  return logger;
}

std::optional<std::string> optional_text(const store::Statement& statement, int column) {
  if (statement.column_is_null(column)) return std::nullopt;
  return std::string(statement.column_text(column));
}

std::int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct OutboxRelay::Statements {
  explicit Statements(store::Database& db)
      : read(db.prepare("SELECT seq, event_id, topic, event_key, tenant_id, payload, created_at "
                        "FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2")),
        remove(db.prepare("DELETE FROM outbox WHERE seq <= ?1")),
        count(db.prepare("SELECT count(*) FROM outbox WHERE seq > ?1")) {}
  store::Statement read;
  store::Statement remove;
  store::Statement count;
};

OutboxRelay::OutboxRelay(Options options, std::vector<EventPublisher*> publishers,
                         OutboxProbe& probe)
    : options_(std::move(options)), publishers_(std::move(publishers)), probe_(probe) {
  if (publishers_.empty()) {
    throw std::invalid_argument("outbox relay: at least one event publisher is required");
  }
  if (std::find(publishers_.begin(), publishers_.end(), nullptr) != publishers_.end()) {
    throw std::invalid_argument("outbox relay: an event publisher is null");
  }
  if (options_.batch_size == 0) {
    throw std::invalid_argument("outbox relay: batch_size must be at least 1");
  }
  for (const auto* publisher : publishers_) probe_.add_publisher(publisher->name());
  options_.retry_min = std::max(options_.retry_min, std::chrono::milliseconds(1));
  options_.retry_max = std::max(options_.retry_max, options_.retry_min);
  db_ = std::make_unique<store::Database>(options_.database, store::Synchronous::normal);
  statements_ = std::make_unique<Statements>(*db_);
}

OutboxRelay::~OutboxRelay() {
  stop();
}

void OutboxRelay::on_delivered(Listener listener) {
  listeners_.push_back(std::move(listener));
}

void OutboxRelay::start() {
  thread_ = logging::start_thread("the outbox relay thread", [this] {
    logging::set_thread_name("outbox");
    logging::set_batch_scheduling();  // a commit's wake-up does not preempt the store writer
    run();
  });
}

void OutboxRelay::notify(std::int64_t rows) noexcept {
  change_backlog(rows);
  {
    std::lock_guard lock(mutex_);
    notified_ = true;
  }
  wake_.notify_one();
}

void OutboxRelay::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  // A publish waiting on a broker would hold the join for its whole timeout.
  for (EventPublisher* publisher : publishers_) publisher->interrupt();
  if (thread_.joinable()) thread_.join();
}

bool OutboxRelay::sleep(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, timeout, [this] { return notified_ || stopping_; });
  notified_ = false;
  return !stopping_;
}

std::chrono::milliseconds OutboxRelay::next_backoff(std::chrono::milliseconds& backoff) {
  // Full jitter over the upper half: spreads retries without ever retrying
  // much sooner than planned.
  static thread_local std::minstd_rand random(std::random_device{}());
  const auto half = backoff.count() / 2;
  const auto wait = std::chrono::milliseconds(
      half + std::uniform_int_distribution<std::int64_t>(0, backoff.count() - half)(random));
  backoff = std::min(backoff * 2, options_.retry_max);
  return wait;
}

std::vector<OutboxEvent> OutboxRelay::read_batch() {
  std::vector<OutboxEvent> batch;
  auto& read = statements_->read;
  read.bind(1, delivered_through_).bind(2, static_cast<std::int64_t>(options_.batch_size));
  try {
    while (read.step()) {
      OutboxEvent event;
      event.seq = read.column_int(0);
      event.event_id = std::string(read.column_text(1));
      event.topic = std::string(read.column_text(2));
      event.key = optional_text(read, 3);
      event.tenant_id = optional_text(read, 4);
      event.payload = std::string(read.column_text(5));
      event.created_at = read.column_int(6);
      batch.push_back(std::move(event));
    }
  } catch (...) {
    read.reset();
    throw;
  }
  read.reset();
  return batch;
}

void OutboxRelay::delete_through(std::int64_t last_seq) {
  // Writers are serialized by SQLite, so no row with a lower seq can commit
  // after the rows just read: everything up to `last_seq` was delivered.
  if (options_.acknowledge) {
    options_.acknowledge(last_seq);
  } else {
    statements_->remove.bind(1, last_seq).run();
  }
}

bool OutboxRelay::acknowledge_due() const {
  return acknowledged_through_ < delivered_through_ &&
         std::chrono::steady_clock::now() >= acknowledged_at_ + options_.sync_interval;
}

bool OutboxRelay::acknowledge() {
  if (acknowledged_through_ >= delivered_through_) return true;
  for (EventPublisher* publisher : publishers_) {
    try {
      publisher->sync();
    } catch (const std::exception& e) {
      probe_.failed(publisher->name());
      log()->warn("syncing events (outbox seq {}..{}) to {} failed, will retry: {}",
                  acknowledged_through_ + 1, delivered_through_, publisher->name(), e.what());
      return false;
    }
  }
  delete_through(delivered_through_);
  acknowledged_through_ = delivered_through_;
  acknowledged_at_ = std::chrono::steady_clock::now();
  return true;
}

void OutboxRelay::update_backlog() {
  auto& count = statements_->count;
  count.bind(1, delivered_through_);
  count.step();
  backlog_.store(count.column_int(0));
  probe_.backlog(count.column_int(0));
  count.reset();
}

void OutboxRelay::change_backlog(std::int64_t events) noexcept {
  // A row delivered before its commit was notified takes the estimate below
  // zero for a moment: never shown.
  const std::int64_t now = std::max<std::int64_t>(0, backlog_.fetch_add(events) + events);
  probe_.backlog(now);
}

void OutboxRelay::refresh_backlog() {
  // Counting scans the table: at most once a second, so that the gauge stays
  // true under load without slowing delivery.
  if (const auto now = std::chrono::steady_clock::now();
      now - backlog_counted_ >= std::chrono::seconds(1)) {
    update_backlog();
    backlog_counted_ = now;
  }
}

void OutboxRelay::run() {
  run_rounds();
  // Stopping: what was delivered need not wait for the next start.
  try {
    acknowledge();
  } catch (const std::exception& e) {
    log()->warn("outbox relay: delivered events stay in the outbox until the next start: {}",
                e.what());
  }
}

void OutboxRelay::run_rounds() {
  std::chrono::milliseconds backoff = options_.retry_min;
  std::vector<OutboxEvent> batch;
  // Which publishers already have `batch`.
  std::vector<bool> published(publishers_.size(), false);
  // Per publisher, its failed tries in a row and when the first was: the
  // log closes an outage with a line of its own.
  struct Outage {
    std::size_t failures = 0;
    std::chrono::steady_clock::time_point since;
  };
  std::vector<Outage> outages(publishers_.size());

  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    try {
      if (batch.empty()) {
        batch = read_batch();
        std::fill(published.begin(), published.end(), false);
      }
      if (batch.empty()) {
        // Nothing new: what was delivered waits at most `sync_interval`.
        if (acknowledge_due() && !acknowledge()) {
          if (!sleep(next_backoff(backoff))) return;
          continue;
        }
        auto wait = options_.idle_wake;
        if (acknowledged_through_ < delivered_through_) {
          const auto due = acknowledged_at_ + options_.sync_interval;
          wait = std::min(wait, std::chrono::ceil<std::chrono::milliseconds>(
                                    due - std::chrono::steady_clock::now()));
        }
        update_backlog();
        for (EventPublisher* publisher : publishers_) publisher->idle();
        backoff = options_.retry_min;
        if (!sleep(wait)) return;
        continue;
      }

      // Counted before a publish that may wait for its destination (up to
      // messaging.delivery_timeout): the gauge then shows what waits.
      refresh_backlog();
      bool failed = false;
      for (std::size_t i = 0; i < publishers_.size(); ++i) {
        if (published[i]) continue;
        EventPublisher& publisher = *publishers_[i];
        try {
          publisher.publish(batch);
          published[i] = true;
          probe_.delivered(publisher.name(), batch.size());
          if (auto& outage = outages[i]; outage.failures > 0) {
            log()->info(
                "published to {} again, after {} failed tries over {:.1f} s", publisher.name(),
                outage.failures,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - outage.since)
                    .count());
            outage = {};
          }
        } catch (const std::exception& e) {
          failed = true;
          probe_.failed(publisher.name());
          if (outages[i].failures++ == 0) outages[i].since = std::chrono::steady_clock::now();
          log()->warn("publishing {} events (outbox seq {}..{}) to {} failed, will retry: {}",
                      batch.size(), batch.front().seq, batch.back().seq, publisher.name(),
                      e.what());
        }
      }
      if (failed) {
        update_backlog();  // what waits for the publisher to come back
        if (!sleep(next_backoff(backoff))) return;
        continue;
      }

      delivered_through_ = batch.back().seq;
      const std::int64_t now = now_unix_ms();
      for (const OutboxEvent& event : batch) {
        probe_.latency(
            std::chrono::milliseconds(std::max<std::int64_t>(0, now - event.created_at)));
      }
      delivered_ += batch.size();
      change_backlog(-static_cast<std::int64_t>(batch.size()));
      for (const Listener& listener : listeners_) {
        try {
          listener(batch);
        } catch (const std::exception& e) {
          log()->warn("after-delivery listener failed for events (outbox seq {}..{}): {}",
                      batch.front().seq, batch.back().seq, e.what());
        }
      }
      batch.clear();
      backoff = options_.retry_min;
      if (acknowledge_due() && !acknowledge()) {
        if (!sleep(next_backoff(backoff))) return;
        continue;
      }
    } catch (const std::exception& e) {
      // The store itself failed (busy beyond its timeout, disk full on the
      // delete...): keep the batch, if any, and try again later.
      log()->error("outbox relay: {}; retrying", e.what());
      if (!sleep(next_backoff(backoff))) return;
    }
  }
}

}  // namespace flint::events
