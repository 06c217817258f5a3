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

// Reads the rows `statement` selects (the columns of kColumns) into events.
std::vector<OutboxEvent> read_events(store::Statement& statement) {
  std::vector<OutboxEvent> events;
  try {
    while (statement.step()) {
      OutboxEvent event;
      event.seq = statement.column_int(0);
      event.event_id = std::string(statement.column_text(1));
      event.topic = std::string(statement.column_text(2));
      event.key = optional_text(statement, 3);
      event.tenant_id = optional_text(statement, 4);
      event.payload = std::string(statement.column_text(5));
      event.created_at = statement.column_int(6);
      events.push_back(std::move(event));
    }
  } catch (...) {
    statement.reset();
    throw;
  }
  statement.reset();
  return events;
}

constexpr std::string_view kColumns =
    "SELECT seq, event_id, topic, event_key, tenant_id, payload, created_at FROM outbox ";

}  // namespace

struct OutboxRelay::Statements {
  explicit Statements(store::Database& db)
      : read(db.prepare(std::string(kColumns) + "WHERE seq > ?1 ORDER BY seq LIMIT ?2")),
        read_held(db.prepare(std::string(kColumns) +
                             "WHERE topic = ?1 AND seq >= ?2 AND seq <= ?3 ORDER BY seq LIMIT ?4")),
        remove(db.prepare("DELETE FROM outbox WHERE seq <= ?1")),
        count(db.prepare("SELECT count(*) FROM outbox WHERE seq > ?1")),
        count_held(db.prepare(
            "SELECT count(*) FROM outbox WHERE topic = ?1 AND seq >= ?2 AND seq <= ?3")) {}
  store::Statement read;
  store::Statement read_held;
  store::Statement remove;
  store::Statement count;
  store::Statement count_held;
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
  auto& read = statements_->read;
  read.bind(1, read_through_).bind(2, static_cast<std::int64_t>(options_.batch_size));
  std::vector<OutboxEvent> batch = read_events(read);
  if (batch.empty()) return batch;
  read_through_ = batch.back().seq;
  drop_held(batch);  // delivered, in order, by retry_held
  return batch;
}

std::vector<OutboxEvent> OutboxRelay::read_held(const std::string& topic, std::int64_t from) {
  // Up to what the main rounds have read: they skip the topic's rows so far.
  auto& read = statements_->read_held;
  read.bind(1, topic)
      .bind(2, from)
      .bind(3, read_through_)
      .bind(4, static_cast<std::int64_t>(options_.batch_size));
  return read_events(read);
}

void OutboxRelay::hold(const TopicsNotDelivered& refusal, std::string_view publisher,
                       std::vector<OutboxEvent>& batch) {
  const auto now = std::chrono::steady_clock::now();
  for (const std::string& topic : refusal.topics()) {
    const auto first = std::ranges::find(batch, topic, &OutboxEvent::topic);
    if (first == batch.end()) continue;
    Held held{.from = first->seq,
              .error = refusal.what(),
              .backoff = options_.retry_min,
              .failures = 1,
              .since = now};
    held.retry_at = now + next_backoff(held.backoff);
    log()->warn(
        "events of topic {} (from outbox seq {}) are held back: {} refused them ({}); the other "
        "topics' events go on, and these are offered again on their own",
        topic, held.from, publisher, refusal.what());
    std::lock_guard lock(held_mutex_);
    held_.emplace(topic, std::move(held));
  }
  drop_held(batch);
}

void OutboxRelay::drop_held(std::vector<OutboxEvent>& batch) const {
  if (held_.empty()) return;
  std::erase_if(batch, [&](const OutboxEvent& event) { return held_.contains(event.topic); });
}

bool OutboxRelay::retry_held() {
  for (auto it = held_.begin(); it != held_.end();) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return false;
    }
    Held& held = it->second;
    if (std::chrono::steady_clock::now() < held.retry_at) {
      ++it;
      continue;
    }
    const std::vector<OutboxEvent> events = read_held(it->first, held.from);
    std::string refusal;
    for (EventPublisher* publisher : publishers_) {
      if (events.empty()) break;
      try {
        publisher->publish(events);
      } catch (const std::exception& e) {
        probe_.failed(publisher->name());
        refusal = fmt::format("{}: {}", publisher->name(), e.what());
        break;
      }
    }
    if (!refusal.empty()) {
      std::lock_guard lock(held_mutex_);
      held.error = std::move(refusal);
      ++held.failures;
      held.retry_at = std::chrono::steady_clock::now() + next_backoff(held.backoff);
      ++it;
      continue;
    }
    delivered(events);
    std::lock_guard lock(held_mutex_);
    if (events.size() == options_.batch_size) {
      held.from = events.back().seq + 1;  // more: at once
      ++it;
      continue;
    }
    log()->info(
        "events of topic {} delivered again, after {} failed tries over {:.1f} s", it->first,
        held.failures,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - held.since).count());
    it = held_.erase(it);
  }
  return true;
}

std::map<std::string, std::string> OutboxRelay::held() const {
  std::lock_guard lock(held_mutex_);
  std::map<std::string, std::string> topics;
  for (const auto& [topic, held] : held_) topics.emplace(topic, held.error);
  return topics;
}

void OutboxRelay::delivered(std::span<const OutboxEvent> events) {
  if (events.empty()) return;
  unacknowledged_ = true;
  const std::int64_t now = now_unix_ms();
  for (const OutboxEvent& event : events) {
    probe_.latency(std::chrono::milliseconds(std::max<std::int64_t>(0, now - event.created_at)));
  }
  delivered_ += events.size();
  change_backlog(-static_cast<std::int64_t>(events.size()));
  for (const Listener& listener : listeners_) {
    try {
      listener(events);
    } catch (const std::exception& e) {
      log()->warn("after-delivery listener failed for events (outbox seq {}..{}): {}",
                  events.front().seq, events.back().seq, e.what());
    }
  }
}

DeliveredRows OutboxRelay::delivered_rows() const {
  DeliveredRows rows{.through = delivered_through_, .held = {}};
  for (const auto& [topic, held] : held_) rows.held.emplace_back(topic, held.from);
  return rows;
}

void OutboxRelay::delete_delivered(const DeliveredRows& rows) {
  // Writers are serialized by SQLite, so no row with a lower seq can commit
  // after the rows just read: everything up to `through` was read.
  if (options_.acknowledge) {
    options_.acknowledge(rows);
  } else if (rows.held.empty()) {
    statements_->remove.bind(1, rows.through).run();
  } else {
    auto remove = db_->prepare("DELETE FROM outbox WHERE " + rows.condition(1));
    rows.bind(remove, 1);
    remove.run();
  }
}

bool OutboxRelay::acknowledge_due() const {
  return unacknowledged_ &&
         std::chrono::steady_clock::now() >= acknowledged_at_ + options_.sync_interval;
}

bool OutboxRelay::acknowledge() {
  if (!unacknowledged_) return true;
  for (EventPublisher* publisher : publishers_) {
    try {
      publisher->sync();
    } catch (const std::exception& e) {
      probe_.failed(publisher->name());
      log()->warn("syncing events (outbox seq up to {}) to {} failed, will retry: {}",
                  delivered_through_, publisher->name(), e.what());
      return false;
    }
  }
  delete_delivered(delivered_rows());
  unacknowledged_ = false;
  acknowledged_at_ = std::chrono::steady_clock::now();
  return true;
}

void OutboxRelay::update_backlog() {
  auto& count = statements_->count;
  count.bind(1, delivered_through_);
  count.step();
  std::int64_t events = count.column_int(0);
  count.reset();
  auto& held = statements_->count_held;
  for (const auto& [topic, state] : held_) {
    held.bind(1, topic).bind(2, state.from).bind(3, delivered_through_);
    held.step();
    events += held.column_int(0);
    held.reset();
  }
  backlog_.store(events);
  probe_.backlog(events);
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
        if (!held_.empty() && !retry_held()) return;
        batch = read_batch();
        std::fill(published.begin(), published.end(), false);
        if (batch.empty() && delivered_through_ < read_through_) {
          delivered_through_ = read_through_;  // only held topics' events
          continue;
        }
      }
      if (batch.empty()) {
        // Nothing new: what was delivered waits at most `sync_interval`.
        if (acknowledge_due() && !acknowledge()) {
          if (!sleep(next_backoff(backoff))) return;
          continue;
        }
        auto wait = options_.idle_wake;
        const auto until = [&](std::chrono::steady_clock::time_point due) {
          wait = std::min(wait, std::chrono::ceil<std::chrono::milliseconds>(
                                    due - std::chrono::steady_clock::now()));
        };
        if (unacknowledged_) until(acknowledged_at_ + options_.sync_interval);
        for (const auto& [topic, held] : held_) until(held.retry_at);
        wait = std::max(wait, std::chrono::milliseconds(0));
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
        if (published[i] || batch.empty()) continue;
        EventPublisher& publisher = *publishers_[i];
        try {
          bool refused = false;
          try {
            publisher.publish(batch);
          } catch (const TopicsNotDelivered& refusal) {
            probe_.failed(publisher.name());
            hold(refusal, publisher.name(), batch);
            refused = true;
          }
          published[i] = true;
          probe_.delivered(publisher.name(), batch.size());
          // The destination answered, even if it refused some topics (held
          // from now on, each ending with a line of its own): the outage is over.
          if (auto& outage = outages[i]; outage.failures > 0) {
            log()->info(
                "published to {} again, after {} failed tries over {:.1f} s{}", publisher.name(),
                outage.failures,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - outage.since)
                    .count(),
                refused ? " (some topics refused: held)" : "");
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

      delivered_through_ = read_through_;
      delivered(batch);
      batch.clear();
      backoff = options_.retry_min;
      if (acknowledge_due() && !acknowledge()) {
        if (!sleep(next_backoff(backoff))) return;
        continue;
      }
    } catch (const std::exception& e) {
      // The store itself failed (busy beyond its timeout, disk full on the
      // delete, a damaged page...): keep the batch, if any, and try again later.
      if (const auto* sqlite = dynamic_cast<const store::SqliteError*>(&e);
          sqlite != nullptr && options_.on_database_error) {
        options_.on_database_error(*sqlite);
      }
      log()->error("outbox relay: {}; retrying", e.what());
      if (!sleep(next_backoff(backoff))) return;
    }
  }
}

}  // namespace flint::events
