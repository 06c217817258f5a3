#include "store/store_probe.hpp"

#include "metrics/metrics_registry.hpp"

namespace flint::store {
namespace {

double seconds(std::chrono::steady_clock::duration duration) {
  return std::chrono::duration<double>(duration).count();
}

}  // namespace

StoreProbe::StoreProbe(prometheus::Registry& registry) {
  auto& commits = prometheus::BuildCounter()
                      .Name("flint_store_commits_total")
                      .Help("Group commits of flint.db, by outcome (failed: disk full, I/O error)")
                      .Register(registry);
  commits_ok_ = &commits.Add({{"outcome", "ok"}});
  commits_failed_ = &commits.Add({{"outcome", "failed"}});
  auto& writes = prometheus::BuildCounter()
                     .Name("flint_store_writes_total")
                     .Help(
                         "Writes to flint.db, by outcome (failed: their own error or their "
                         "commit's)")
                     .Register(registry);
  writes_ok_ = &writes.Add({{"outcome", "ok"}});
  writes_failed_ = &writes.Add({{"outcome", "failed"}});
  commit_duration_ = &prometheus::BuildHistogram()
                          .Name("flint_store_commit_duration_seconds")
                          .Help(
                              "Time of each group commit of flint.db, from its first write to "
                              "its end, fsync included")
                          .Register(registry)
                          .Add({}, metrics::latency_buckets());
  queue_wait_ = &prometheus::BuildHistogram()
                     .Name("flint_store_queue_wait_seconds")
                     .Help("Time the oldest write of each group waited for the store's writer")
                     .Register(registry)
                     .Add({}, metrics::latency_buckets());
}

void StoreProbe::observe(const Commit& commit) {
  // The histograms before the counters, which a scrape reads first: one
  // scrape never counts more commits than commit durations.
  commit_duration_->Observe(seconds(commit.took));
  queue_wait_->Observe(seconds(commit.wait));
  (commit.committed ? commits_ok_ : commits_failed_)->Increment();
  writes_ok_->Increment(static_cast<double>(commit.writes - commit.failed_writes));
  writes_failed_->Increment(static_cast<double>(commit.failed_writes));
}

}  // namespace flint::store
