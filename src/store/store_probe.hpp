#pragma once

/// @file
/// Metrics of the store's writer: group commits, writes and their timing.

#include <chrono>
#include <cstddef>

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace flint::store {

/// The store writer's metrics probe. A slow or failing disk shows here first:
/// every 202 waits for a commit. Thread-safe.
class StoreProbe {
 public:
  /// Registers the families on `registry` (which must outlive the probe).
  explicit StoreProbe(prometheus::Registry& registry);

  /// One group commit, as the writer ran it.
  struct Commit {
    /// From the moment its oldest write was queued until the writer took the group.
    std::chrono::steady_clock::duration wait{};
    /// From the first write run to the end of the commit (fsync included).
    std::chrono::steady_clock::duration took{};
    /// Writes in the group.
    std::size_t writes = 0;
    /// Writes that failed: their own error, or all of them when the commit did.
    std::size_t failed_writes = 0;
    /// False when the commit itself failed (disk full, I/O error).
    bool committed = true;
  };

  /// Counts and times one group commit.
  void observe(const Commit& commit);

 private:
  prometheus::Counter* commits_ok_;
  prometheus::Counter* commits_failed_;
  prometheus::Counter* writes_ok_;
  prometheus::Counter* writes_failed_;
  prometheus::Histogram* commit_duration_;
  prometheus::Histogram* queue_wait_;
};

}  // namespace flint::store
