#include "events/event_log.hpp"

#include <array>
#include <limits>

namespace flint::events {
namespace {

constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL UNIQUE,
  topic TEXT NOT NULL,
  event_key TEXT,
  tenant_id TEXT,
  payload TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  appended_at INTEGER NOT NULL
);
CREATE INDEX events_appended_at ON events (appended_at);
)sql";

// Version 2: no index of append times. Retention by age removes the oldest
// events in sequence order (see `prune_age`), which needs none, and every
// append paid for one more index entry.
constexpr std::string_view kSchemaV2 = "DROP INDEX events_appended_at;";

constexpr std::array kMigrations = {store::Migration{1, kSchemaV1}, store::Migration{2, kSchemaV2}};

std::int64_t unix_ms(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

std::optional<std::string> optional_text(const store::Statement& statement, int column) {
  if (statement.column_is_null(column)) return std::nullopt;
  return std::string(statement.column_text(column));
}

std::unique_ptr<store::Database> open(const EventLogOptions& options) {
  // Appends need not each wait for the disk: `sync` makes them survive a
  // power loss, once for all appended before it.
  auto db = std::make_unique<store::Database>(options.path, store::Synchronous::normal);
  db->migrate(kMigrations);
  return db;
}

std::int64_t read_last_seq(store::Database& db) {
  // AUTOINCREMENT keeps the highest sequence ever used here, even when
  // retention has removed every event.
  auto statement = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'");
  return statement.step() ? statement.column_int(0) : 0;
}

}  // namespace

struct EventLog::Statements {
  explicit Statements(store::Database& db)
      : insert(db.prepare(
            // An event already kept fails on the unique index of ids, which
            // undoes the statement with its AUTOINCREMENT number, so readers
            // see no gap. Not `INSERT OR IGNORE`, which keeps the number
            // used, nor a `NOT EXISTS` probe, which looked each id up twice.
            "INSERT INTO events (event_id, topic, event_key, tenant_id, payload, created_at, "
            "appended_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")),
        read(db.prepare(
            "SELECT seq, event_id, topic, event_key, tenant_id, payload, created_at, appended_at "
            "FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2")),
        first(db.prepare("SELECT min(seq) FROM events")),
        count(db.prepare("SELECT count(*) FROM events")),
        id_at(db.prepare("SELECT event_id FROM events WHERE seq = ?1")),
        // Removes a prefix of the log: every event before the first one
        // appended at or after ?1 (all of them when there is none). The
        // subquery walks the events being removed, in sequence order, and
        // stops at the first one kept. An event appended after a clock step
        // back waits for the events before it: the log never has holes.
        prune_age(
            db.prepare("DELETE FROM events WHERE seq < coalesce("
                       "(SELECT seq FROM events WHERE appended_at >= ?1 ORDER BY seq LIMIT 1), "
                       "(SELECT max(seq) + 1 FROM events))")),
        prune_count(
            db.prepare("DELETE FROM events WHERE seq < (SELECT seq FROM events ORDER BY seq DESC "
                       "LIMIT 1 OFFSET ?1)")),
        trim(db.prepare("DELETE FROM events WHERE seq <= ?1")) {}
  store::Statement insert;
  store::Statement read;
  store::Statement first;
  store::Statement count;
  store::Statement id_at;
  store::Statement prune_age;
  store::Statement prune_count;
  store::Statement trim;
};

int EventLog::schema_version() noexcept {
  return kMigrations.back().version;
}

EventLog::EventLog(EventLogOptions options)
    : options_(std::move(options)),
      db_(open(options_)),
      statements_(std::make_unique<Statements>(*db_)),
      last_prune_(std::chrono::steady_clock::now()),
      signal_(read_last_seq(*db_)) {
  prune_locked(std::chrono::system_clock::now());
}

EventLog::~EventLog() = default;

std::size_t EventLog::append(std::span<const OutboxEvent> batch) {
  if (batch.empty()) return 0;
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::system_clock::now();
  const std::int64_t appended_at = unix_ms(now);
  std::size_t added = 0;
  std::int64_t last = 0;
  {
    store::Transaction transaction(*db_);
    auto& insert = statements_->insert;
    for (const OutboxEvent& event : batch) {
      insert.bind(1, std::string_view(event.event_id))
          .bind(2, std::string_view(event.topic))
          .bind(3, event.key)
          .bind(4, event.tenant_id)
          .bind(5, std::string_view(event.payload))
          .bind(6, event.created_at)
          .bind(7, appended_at);
      try {
        insert.run();
      } catch (const store::SqliteError& e) {
        if (e.extended_code() != SQLITE_CONSTRAINT_UNIQUE) throw;
        continue;  // kept already: a redelivery
      }
      ++added;
      last = sqlite3_last_insert_rowid(db_->handle());
    }
    transaction.commit();
  }
  if (options_.prune_interval.count() > 0) {
    if (std::chrono::steady_clock::now() - last_prune_ >= options_.prune_interval) {
      prune_locked(now);
    } else if (options_.max_events > 0 && added > 0 && last - kept_from_ >= options_.max_events) {
      // The count is a limit, not a target for the next prune: a minute of
      // events past it would be a minute more than the operator sized for.
      // Numbers have no holes, so the oldest to keep is `last - max + 1`.
      statements_->trim.bind(1, last - options_.max_events).run();
      kept_from_ = last - options_.max_events + 1;
    }
  }
  // Only after the commit: a reader woken now finds the events.
  if (added > 0) signal_.advance(last);
  return added;
}

void EventLog::sync() {
  if (options_.synchronous != store::Synchronous::full) return;
  std::lock_guard lock(mutex_);
  db_->sync_wal();
}

std::vector<LoggedEvent> EventLog::read(std::int64_t after_seq, std::size_t limit,
                                        std::size_t max_bytes) const {
  std::vector<LoggedEvent> events;
  if (limit == 0) return events;
  std::lock_guard lock(mutex_);
  auto& read = statements_->read;
  read.bind(1, after_seq)
      .bind(2, static_cast<std::int64_t>(
                   std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max())));
  std::size_t bytes = 0;
  try {
    while (bytes < max_bytes && read.step()) {
      LoggedEvent logged;
      logged.seq = read.column_int(0);
      logged.event.event_id = std::string(read.column_text(1));
      logged.event.topic = std::string(read.column_text(2));
      logged.event.key = optional_text(read, 3);
      logged.event.tenant_id = optional_text(read, 4);
      logged.event.payload = std::string(read.column_text(5));
      logged.event.created_at = read.column_int(6);
      logged.appended_at = read.column_int(7);
      bytes += logged.event.payload.size();
      events.push_back(std::move(logged));
    }
  } catch (const std::exception& e) {
    read.reset();
    read_error_ = e.what();
    throw;
  }
  read.reset();
  read_error_.clear();
  return events;
}

std::string EventLog::read_error() const {
  std::lock_guard lock(mutex_);
  return read_error_;
}

std::int64_t EventLog::first_seq() const {
  std::lock_guard lock(mutex_);
  auto& first = statements_->first;
  first.step();
  const std::int64_t seq = first.column_is_null(0) ? 0 : first.column_int(0);
  first.reset();
  return seq;
}

std::optional<std::string> EventLog::event_id_at(std::int64_t seq) const {
  std::lock_guard lock(mutex_);
  auto& id_at = statements_->id_at;
  id_at.bind(1, seq);
  std::optional<std::string> id;
  if (id_at.step()) id = std::string(id_at.column_text(0));
  id_at.reset();
  return id;
}

std::int64_t EventLog::size() const {
  std::lock_guard lock(mutex_);
  auto& count = statements_->count;
  count.step();
  const std::int64_t n = count.column_int(0);
  count.reset();
  return n;
}

std::size_t EventLog::prune(std::chrono::system_clock::time_point now) {
  std::lock_guard lock(mutex_);
  return prune_locked(now);
}

std::size_t EventLog::prune_locked(std::chrono::system_clock::time_point now) {
  last_prune_ = std::chrono::steady_clock::now();
  std::size_t removed = 0;
  if (options_.max_age.count() > 0) {
    statements_->prune_age.bind(1, unix_ms(now - options_.max_age)).run();
    removed += static_cast<std::size_t>(db_->changes());
  }
  if (options_.max_events > 0) {
    // The subquery yields the oldest event to keep; nothing when there are
    // not more than `max_events` (and `seq < NULL` deletes nothing).
    statements_->prune_count.bind(1, options_.max_events - 1).run();
    removed += static_cast<std::size_t>(db_->changes());
  }
  auto& first = statements_->first;
  kept_from_ = first.step() && !first.column_is_null(0) ? first.column_int(0) : 0;
  first.reset();
  return removed;
}

}  // namespace flint::events
