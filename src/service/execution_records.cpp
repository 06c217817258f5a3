#include "service/execution_records.hpp"

#include <chrono>
#include <limits>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/compile.h>
#include <fmt/format.h>

#include <flint/sdk/json.hpp>

namespace flint::service {

namespace json = boost::json;

bool insert_execution(store::Database& db, const AcceptedExecution& execution, bool if_absent,
                      const std::string* sealed_job) {
  const std::string transitions = json::serialize(json::array{
      json::object{{"status", "IN_PROGRESS"}, {"at", iso8601_utc(execution.accepted_at)}}});
  auto insert = db.prepare(
      if_absent
          ? "INSERT OR IGNORE INTO executions (request_id, driver, lifecycle_name, tenant_id, "
            "status, associated_topology, monitoring, accepted_at, transitions, job, deadline_at) "
            "VALUES (?, ?, ?, ?, 'IN_PROGRESS', ?, 'active', ?, ?, ?, ?)"
          : "INSERT INTO executions (request_id, driver, lifecycle_name, tenant_id, "
            "status, associated_topology, monitoring, accepted_at, transitions, job, deadline_at) "
            "VALUES (?, ?, ?, ?, 'IN_PROGRESS', ?, 'active', ?, ?, ?, ?)");
  insert.bind(1, execution.request_id)
      .bind(2, execution.driver)
      .bind(3, execution.lifecycle_name)
      .bind(5, json::serialize(execution.associated_topology))
      .bind(6, execution.accepted_at)
      .bind(7, transitions)
      .bind(9, execution.deadline_at);
  if (!execution.tenant_id.empty()) insert.bind(4, execution.tenant_id);
  if (sealed_job) insert.bind_blob(8, *sealed_job);
  insert.run();
  return db.changes() > 0;
}

bool end_execution(store::Database& db, const ExecutionEnding& ending) {
  if (ending.status.empty()) {
    db.prepare(
          "UPDATE executions SET monitoring = ?, job = NULL "
          "WHERE request_id = ? AND monitoring = 'active'")
        .bind(1, ending.monitoring)
        .bind(2, ending.request_id)
        .run();
    return db.changes() > 0;
  }
  // The transition is appended by SQLite: no read, parse and rewrite of the
  // history here.
  auto update = db.prepare(
      "UPDATE executions SET status = ?1, failure_code = ?2, failure_description = ?3, "
      "outputs = ?4, associated_topology = ?5, monitoring = ?6, completed_at = ?7, job = NULL, "
      "transitions = json_insert(transitions, '$[#]', json_object('status', ?1, 'at', ?8)) "
      "WHERE request_id = ?9 AND monitoring = 'active'");
  update.bind(1, ending.status);
  if (ending.failure_code) update.bind(2, *ending.failure_code).bind(3, ending.failure_description);
  update.bind(4, json::serialize(ending.outputs))
      .bind(5, json::serialize(ending.associated_topology))
      .bind(6, ending.monitoring)
      .bind(7, ending.ended_at)
      .bind(8, iso8601_utc(ending.ended_at))
      .bind(9, ending.request_id)
      .run();
  return db.changes() > 0;
}

std::vector<MonitoredExecution> monitored_executions(store::Database& db) {
  std::vector<MonitoredExecution> found;
  auto select = db.prepare(
      "SELECT request_id, job, deadline_at FROM executions WHERE job IS NOT NULL "
      "ORDER BY accepted_at");
  while (select.step()) {
    found.push_back({std::string(select.column_text(0)), std::string(select.column_text(1)),
                     select.column_int(2)});
  }
  return found;
}

std::int64_t count_monitored_executions(store::Database& db) {
  auto count = db.prepare("SELECT count(*) FROM executions WHERE job IS NOT NULL");
  count.step();
  return count.column_int(0);
}

std::int64_t count_cluster_executions_in_progress(store::Database& db) {
  // A store that never was a cluster node's holds none: no scan of its records.
  auto clustered = db.prepare("SELECT EXISTS (SELECT 1 FROM cluster_offsets)");
  clustered.step();
  if (clustered.column_int(0) == 0) return 0;
  auto count =
      db.prepare("SELECT count(*) FROM executions WHERE monitoring = 'active' AND job IS NULL");
  count.step();
  return count.column_int(0);
}

PruneRound prune_ended_executions(store::Database& db, std::string_view after,
                                  std::int64_t ended_before, std::size_t limit) {
  PruneRound round;
  auto scan = db.prepare(
      "SELECT count(*), max(request_id) FROM (SELECT request_id FROM executions "
      "WHERE request_id > ?1 ORDER BY request_id LIMIT ?2)");
  scan.bind(1, after).bind(2, static_cast<std::int64_t>(limit));
  scan.step();
  round.examined = static_cast<std::size_t>(scan.column_int(0));
  if (round.examined == 0) return round;
  const std::string last(scan.column_text(1));
  scan.reset();
  // The primary key bounds the range; ids need not be time-ordered (a
  // driver chooses them), so the age is checked on each record.
  db.prepare(
        "DELETE FROM executions WHERE request_id > ?1 AND request_id <= ?2 "
        "AND monitoring <> 'active' AND coalesce(delivered_at, completed_at, accepted_at) < ?3")
      .bind(1, after)
      .bind(2, last)
      .bind(3, ended_before)
      .run();
  round.removed = static_cast<std::size_t>(db.changes());
  if (round.examined == limit) round.next_after = last;
  return round;
}

namespace {

// The columns of a record as the status API shows it, in the order
// `record_of` reads them.
constexpr std::string_view kRecordColumns =
    "request_id, driver, lifecycle_name, tenant_id, status, failure_code, failure_description, "
    "outputs, associated_topology, monitoring, accepted_at, completed_at, delivered_at, "
    "transitions";

json::object record_of(const store::Statement& row) {
  const auto optional_time = [&](int column) {
    return row.column_is_null(column) ? json::value(nullptr)
                                      : json::value(iso8601_utc(row.column_int(column)));
  };
  json::object record;
  record["requestId"] = row.column_text(0);
  record["driver"] = row.column_text(1);
  record["lifecycleName"] = row.column_text(2);
  record["tenantId"] =
      row.column_is_null(3) ? json::value(nullptr) : json::value(json::string(row.column_text(3)));
  record["status"] = row.column_text(4);
  if (!row.column_is_null(5)) {
    record["failureDetails"] =
        json::object{{"failureCode", row.column_text(5)}, {"description", row.column_text(6)}};
  }
  record["outputs"] = sdk::json::parse_stored(row.column_text(7));
  record["associatedTopology"] = sdk::json::parse_stored(row.column_text(8));
  record["monitoring"] = row.column_text(9);
  record["acceptedAt"] = iso8601_utc(row.column_int(10));
  record["completedAt"] = optional_time(11);
  record["deliveredAt"] = optional_time(12);
  record["transitions"] = sdk::json::parse_stored(row.column_text(13));
  return record;
}

}  // namespace

std::optional<json::object> read_execution(store::Database& db, std::string_view request_id) {
  static const std::string sql =
      fmt::format("SELECT {} FROM executions WHERE request_id = ?", kRecordColumns);
  auto select = db.prepare(sql);
  select.bind(1, request_id);
  if (!select.step()) return std::nullopt;
  return record_of(select);
}

MonitoredPage read_monitored_executions(store::Database& db,
                                        const std::optional<MonitoredPosition>& after,
                                        std::size_t limit) {
  // The partial index of monitored records, in its own order: a page costs
  // its rows, however many records have ended.
  static const std::string sql = fmt::format(
      "SELECT {} FROM executions WHERE job IS NOT NULL AND (accepted_at, request_id) > (?1, ?2) "
      "ORDER BY accepted_at, request_id LIMIT ?3",
      kRecordColumns);
  auto select = db.prepare(sql);
  select.bind(1, after ? after->accepted_at : std::numeric_limits<std::int64_t>::min())
      .bind(2, after ? std::string_view(after->request_id) : std::string_view())
      .bind(3, static_cast<std::int64_t>(limit) + 1);  // one more tells whether more follow
  MonitoredPage page;
  MonitoredPosition last;
  while (select.step()) {
    if (page.records.size() == limit) {
      page.next = std::move(last);
      break;
    }
    last = {select.column_int(10), std::string(select.column_text(0))};
    page.records.push_back(record_of(select));
  }
  return page;
}

MonitoredPage read_monitored_executions_at(store::Database& db,
                                           std::span<const MonitoredPosition> positions,
                                           std::size_t limit) {
  static const std::string sql = fmt::format(
      "SELECT {} FROM executions WHERE request_id = ? AND monitoring = 'active'", kRecordColumns);
  auto select = db.prepare(sql);
  MonitoredPage page;
  const MonitoredPosition* last = nullptr;
  for (const auto& position : positions) {
    select.bind(1, position.request_id);
    if (select.step()) {
      if (page.records.size() == limit) {  // one more follows
        page.next = *last;
        break;
      }
      page.records.push_back(record_of(select));
      last = &position;
    }
    select.reset();
  }
  return page;
}

std::string iso8601_utc(std::int64_t unix_ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> time{milliseconds(unix_ms)};
  const auto day = floor<days>(time);
  const year_month_day date(day);
  const hh_mm_ss clock(time - day);
  // Compiled: two of these per execution, on the store writer's thread.
  return fmt::format(FMT_COMPILE("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z"),
                     static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                     static_cast<unsigned>(date.day()), clock.hours().count(),
                     clock.minutes().count(), clock.seconds().count(), clock.subseconds().count());
}

}  // namespace flint::service
