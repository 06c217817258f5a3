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

constexpr std::array kMigrations{Migration{1, kVersion1}, Migration{2, kVersion2}};

}  // namespace

std::span<const Migration> flint_schema() {
  return kMigrations;
}

}  // namespace flint::store
