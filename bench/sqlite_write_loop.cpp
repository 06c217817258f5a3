/// @file
/// The persistence baseline of the monitoring benchmark: a plain loop of
/// single-row INSERT transactions into a WAL SQLite database.
///
/// Every execute request Flint accepts is one durable commit (the execution
/// record and its monitoring job). `bench/run_monitoring` runs this loop in
/// the same data directory filesystem, in the same run, and reports Flint's
/// accept rate as a ratio to the commits per second measured here. One
/// thread, one connection, one row per transaction, no batching: the rate a
/// naive store would reach. Flint group-commits concurrent writes (many
/// requests share one fsync), so its ratio may exceed 1.0x.
///
/// Prints one JSON line on stdout:
/// `{"synchronous":"full","row_bytes":512,"commits":N,"seconds":S,
///   "commits_per_s":R,"latency_us":{"p50":..,"p99":..,"max":..}}`.
/// Exit status 0, or 1 with a message on stderr when SQLite fails.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include <CLI/CLI.hpp>
#include <sqlite3.h>

namespace flint::bench {
namespace {

using Clock = std::chrono::steady_clock;

/// Throws with SQLite's message for `what` when `rc` is not `expected`.
void check(sqlite3* db, int rc, int expected, const char* what) {
  if (rc != expected) {
    throw std::runtime_error(std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "") + " (" +
                             sqlite3_errstr(rc) + ")");
  }
}

void exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    const std::string message = error ? error : sqlite3_errstr(rc);
    sqlite3_free(error);
    throw std::runtime_error(std::string(sql) + ": " + message);
  }
}

/// Owns a connection and the one prepared INSERT.
class Loop {
 public:
  Loop(const std::filesystem::path& path, const std::string& synchronous) {
    check(
        db_,
        sqlite3_open_v2(path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr),
        SQLITE_OK, "open");
    exec(db_, "PRAGMA journal_mode=WAL");
    exec(db_, synchronous == "full" ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    // Shaped like Flint's jobs table: a text key, a blob, two integers.
    exec(db_,
         "CREATE TABLE IF NOT EXISTS rows (id TEXT PRIMARY KEY, payload BLOB NOT NULL, "
         "created_at INTEGER NOT NULL, deadline_at INTEGER NOT NULL) WITHOUT ROWID");
    check(db_,
          sqlite3_prepare_v2(db_,
                             "INSERT INTO rows (id, payload, created_at, deadline_at) "
                             "VALUES (?, ?, ?, ?)",
                             -1, &insert_, nullptr),
          SQLITE_OK, "prepare INSERT");
  }
  ~Loop() {
    sqlite3_finalize(insert_);
    sqlite3_close_v2(db_);
  }
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  /// One transaction with one row; returns when it is committed.
  void commit_one(std::uint64_t n, const std::vector<unsigned char>& payload) {
    // A UUID-sized key, unique per row.
    char id[40];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012llx",
                  static_cast<unsigned long long>(n));
    exec(db_, "BEGIN IMMEDIATE");
    sqlite3_bind_text(insert_, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(insert_, 2, payload.data(), static_cast<int>(payload.size()), SQLITE_STATIC);
    sqlite3_bind_int64(insert_, 3, static_cast<sqlite3_int64>(n));
    sqlite3_bind_int64(insert_, 4, static_cast<sqlite3_int64>(n));
    check(db_, sqlite3_step(insert_), SQLITE_DONE, "INSERT");
    sqlite3_reset(insert_);
    exec(db_, "COMMIT");
  }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
};

std::int64_t percentile(std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto index = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1));
  return sorted[index];
}

void remove_database(const std::filesystem::path& path) {
  std::error_code ignored;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::filesystem::remove(path.string() + suffix, ignored);
  }
}

}  // namespace
}  // namespace flint::bench

int main(int argc, char** argv) {
  using flint::bench::Clock;

  CLI::App app{"Plain SQLite write loop: the persistence baseline of bench/run_monitoring"};
  std::filesystem::path dir;
  std::string synchronous = "full";
  double seconds = 3.0;
  double warmup = 0.5;
  std::size_t row_bytes = 512;
  bool keep = false;
  app.add_option("--dir", dir, "Directory of the database (the filesystem under test)")
      ->required()
      ->check(CLI::ExistingDirectory);
  app.add_option("--synchronous", synchronous, "PRAGMA synchronous: full or normal")
      ->check(CLI::IsMember({"full", "normal"}));
  app.add_option("--seconds", seconds, "Measured duration")->check(CLI::Range(0.1, 3600.0));
  app.add_option("--warmup", warmup, "Seconds of commits before measuring (not counted)")
      ->check(CLI::Range(0.0, 60.0));
  app.add_option("--row-bytes", row_bytes, "Size of the blob in each row")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 20));
  app.add_flag("--keep", keep, "Keep the database files");
  CLI11_PARSE(app, argc, argv);

  const auto path = dir / ("sqlite-write-loop-" + synchronous + ".db");
  flint::bench::remove_database(path);
  try {
    // Random bytes: SQLite does not compress, but the page cache should not see zeros either.
    std::vector<unsigned char> payload(row_bytes);
    std::mt19937 random(20240601);
    std::generate(payload.begin(), payload.end(),
                  [&] { return static_cast<unsigned char>(random()); });

    std::uint64_t n = 0;
    std::vector<std::int64_t> latencies_us;
    {
      flint::bench::Loop loop(path, synchronous);
      const auto warm_until = Clock::now() + std::chrono::duration<double>(warmup);
      while (Clock::now() < warm_until) loop.commit_one(n++, payload);

      latencies_us.reserve(1 << 16);
      const auto start = Clock::now();
      const auto end = start + std::chrono::duration<double>(seconds);
      auto now = start;
      while (now < end) {
        const auto before = now;
        loop.commit_one(n++, payload);
        now = Clock::now();
        latencies_us.push_back(
            std::chrono::duration_cast<std::chrono::microseconds>(now - before).count());
      }
      const double elapsed = std::chrono::duration<double>(now - start).count();
      std::sort(latencies_us.begin(), latencies_us.end());
      std::printf(
          "{\"synchronous\":\"%s\",\"row_bytes\":%zu,\"commits\":%zu,\"seconds\":%.3f,"
          "\"commits_per_s\":%.1f,\"latency_us\":{\"p50\":%lld,\"p99\":%lld,\"max\":%lld}}\n",
          synchronous.c_str(), row_bytes, latencies_us.size(), elapsed,
          static_cast<double>(latencies_us.size()) / elapsed,
          static_cast<long long>(flint::bench::percentile(latencies_us, 50)),
          static_cast<long long>(flint::bench::percentile(latencies_us, 99)),
          static_cast<long long>(latencies_us.empty() ? 0 : latencies_us.back()));
    }
    if (!keep) flint::bench::remove_database(path);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "flint_bench_sqlite_write_loop: %s: %s\n", path.c_str(), error.what());
    if (!keep) flint::bench::remove_database(path);
    return 1;
  }
  return 0;
}
