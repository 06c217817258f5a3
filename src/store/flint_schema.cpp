#include "store/flint_schema.hpp"

#include <array>

namespace flint::store {
namespace {

// Version 1: executions with their history, monitoring jobs, and the outbox
// of events written in the same transaction as the state they describe.
constexpr std::string_view kVersion1 = R"sql(
CREATE TABLE executions (
  request_id          TEXT PRIMARY KEY,
  driver              TEXT NOT NULL,
  lifecycle_name      TEXT NOT NULL,
  tenant_id           TEXT,
  status              TEXT NOT NULL,
  failure_code        TEXT,
  failure_description TEXT,
  outputs             TEXT NOT NULL DEFAULT '{}',
  associated_topology TEXT NOT NULL DEFAULT '{}',
  monitoring          TEXT NOT NULL,
  accepted_at         INTEGER NOT NULL,
  completed_at        INTEGER,
  delivered_at        INTEGER,
  transitions         TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE jobs (
  kind        TEXT NOT NULL,
  subject     TEXT NOT NULL,
  payload     BLOB NOT NULL,
  created_at  INTEGER NOT NULL,
  deadline_at INTEGER NOT NULL,
  PRIMARY KEY (kind, subject)
) WITHOUT ROWID;

CREATE TABLE outbox (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id   TEXT NOT NULL UNIQUE,
  topic      TEXT NOT NULL,
  event_key  TEXT,
  tenant_id  TEXT,
  payload    TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
)sql";

// Version 2: cluster mode. Where this node's copy of the execution records
// stands in each partition of the shared state topic.
constexpr std::string_view kVersion2 = R"sql(
CREATE TABLE cluster_offsets (
  topic       TEXT NOT NULL,
  partition   INTEGER NOT NULL,
  next_offset INTEGER NOT NULL,
  PRIMARY KEY (topic, partition)
) WITHOUT ROWID;
)sql";

// Version 3: a lifecycle execution's monitoring job lives in its record.
// A separate job row cost every execution an insert and a delete of its own
// (about a fifth of the store writer's time); the record is written at both
// moments anyway. The partial index holds only what a restart resumes, so it
// stays as small as the work in flight.
constexpr std::string_view kVersion3 = R"sql(
ALTER TABLE executions ADD COLUMN job BLOB;
ALTER TABLE executions ADD COLUMN deadline_at INTEGER;
UPDATE executions SET (job, deadline_at) =
  (SELECT payload, deadline_at FROM jobs
   WHERE kind = 'lifecycle_execution' AND subject = executions.request_id)
WHERE request_id IN (SELECT subject FROM jobs WHERE kind = 'lifecycle_execution');
DELETE FROM jobs WHERE kind = 'lifecycle_execution';
CREATE INDEX executions_monitored ON executions (accepted_at) WHERE job IS NOT NULL;
)sql";

// Version 4: what a job's handler may read without the credentials key, in
// clear (JSON): an infrastructure task's ids, so that a task whose sealed
// payload can no longer be opened still ends with an event naming them.
constexpr std::string_view kVersion4 = R"sql(
ALTER TABLE jobs ADD COLUMN header TEXT;
)sql";

constexpr std::array kMigrations{Migration{1, kVersion1}, Migration{2, kVersion2},
                                 Migration{3, kVersion3}, Migration{4, kVersion4}};

}  // namespace

std::span<const Migration> flint_schema() {
  return kMigrations;
}

}  // namespace flint::store
