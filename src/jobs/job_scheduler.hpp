#pragma once

/// @file
/// One scheduler for every asynchronous kind of work: monitoring executions
/// today; infrastructure tasks, storage syncs, reconciles and heartbeat
/// checks later. Each kind registers a handler; jobs carry due times.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

namespace flint::jobs {

/// A unit of asynchronous work, identified by (kind, subject).
struct Job {
  /// The registered kind, e.g. `lifecycle_execution` (a name with static
  /// storage, such as a constant; the scheduler points it at its own copy).
  std::string_view kind;
  /// What it is about, unique within the kind (e.g. a request id).
  std::string subject;
  /// Kind-specific data (opaque to the scheduler).
  std::string payload;
  /// When the work must be over, whatever its state (the handler enforces it).
  std::chrono::system_clock::time_point deadline;
  /// Runs so far (0 on the first).
  std::uint32_t attempts = 0;
  /// What the kind's handler derived from `payload` and keeps between runs
  /// (its decoded form, say); the scheduler only holds it.
  std::shared_ptr<const void> state;
};

/// What a run of a job decided.
enum class JobStep {
  finished,     ///< The job is over: drop it.
  poll_later,   ///< Not done yet: run again after the next poll interval.
  retry_later,  ///< A transient failure: run again after a back-off.
};

/// Runs one step of a job, on the scheduler's strand: it must not block
/// (blocking work is awaited on the driver executor). Must not throw for
/// expected failures (return `retry_later`); an exception is logged and
/// retried.
using JobHandler = std::function<boost::asio::awaitable<JobStep>(Job& job)>;

/// How often a kind's jobs run again.
struct KindOptions {
  /// First interval, and the floor of every interval.
  std::chrono::milliseconds min_interval{500};
  /// Ceiling of the interval as it grows.
  std::chrono::milliseconds max_interval{30'000};
  /// Growth of the interval after each run that was not finished.
  double backoff = 1.5;
  /// Random spread of each interval, as a fraction (0.2 = plus or minus 20%),
  /// so that jobs accepted together do not poll together forever.
  double jitter = 0.2;
};

/// Runs due jobs with bounded concurrency and a lease per job: a job is
/// either waiting for its due time or running, never run twice at once.
///
/// Jobs live in memory; durability is the caller's: it persists a job in the
/// same transaction as the state it belongs to, re-schedules what it loaded
/// at start, and deletes the row when the job is finished. Polls are not
/// persisted, state transitions are. Thread-safe: every public method may be
/// called from any thread (state lives on one strand).
class JobScheduler {
 public:
  /// Limits.
  struct Options {
    /// Job runs in flight at once (each holds at most one driver call).
    std::size_t max_running = 256;
  };

  JobScheduler(boost::asio::io_context& io, Options options, prometheus::Registry& registry);
  ~JobScheduler();
  JobScheduler(const JobScheduler&) = delete;
  JobScheduler& operator=(const JobScheduler&) = delete;

  /// Registers a kind. Call before `schedule` uses it.
  void register_kind(std::string kind, KindOptions options, JobHandler handler);

  /// Adds `job`, due at `due`. A job with the same kind and subject that is
  /// already known is left as it is.
  void schedule(Job job, std::chrono::steady_clock::time_point due);

  /// Makes a known job due now (a driver pushed news). A running job runs
  /// again as soon as it ends.
  void wake(std::string_view kind, std::string_view subject);

  /// Forgets a known job (another process took it over): a waiting job is
  /// dropped at once, a running one when its current run ends (its handler
  /// must tolerate that run's outcome going unrecorded, or check ownership).
  void cancel(std::string_view kind, std::string_view subject);

  /// Stops dispatching; running jobs end their current step. A job
  /// scheduled afterwards is dropped at once, on the caller's thread (a
  /// durable job resumes at the next start): nothing is left queued on a
  /// loop that no longer runs, holding what its owners are about to free.
  void stop();

  /// Jobs known (waiting or running).
  std::size_t size() const noexcept { return size_.load(); }
  /// Jobs running now.
  std::size_t running() const noexcept { return running_count_.load(); }

 private:
  struct Kind {
    KindOptions options;
    JobHandler handler;
    prometheus::Counter* finished;
    prometheus::Counter* polled;
    prometheus::Counter* retried;
    // Subject -> entry id, keyed by a view of the entry's own subject.
    std::unordered_map<std::string_view, std::uint64_t> ids;
  };
  struct Entry {
    Job job;
    Kind* kind;
    std::chrono::milliseconds interval{};
    std::uint64_t generation = 0;
    bool running = false;
    bool woken = false;
    bool cancelled = false;
  };
  // A place on the timeline: small and allocation-free, since every poll
  // adds one. Outdated places (the entry moved or ended) are skipped.
  struct Due {
    std::chrono::steady_clock::time_point at;
    std::uint64_t id;
    std::uint64_t generation;
    bool operator>(const Due& other) const noexcept { return at > other.at; }
  };

  void enqueue(std::uint64_t id, Entry& entry, std::chrono::steady_clock::time_point at);
  void dispatch();
  void arm_timer();
  boost::asio::awaitable<void> run(std::uint64_t id, Job* job, Kind* kind);
  void finish(std::uint64_t id, JobStep step);
  void drop(std::uint64_t id);
  std::chrono::milliseconds next_interval(Entry& entry, JobStep step);

  Options options_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::steady_timer timer_;
  std::chrono::steady_clock::time_point timer_at_ = std::chrono::steady_clock::time_point::max();
  // Transparent: a lookup by the job's kind (a view) builds no string.
  struct KindHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const noexcept {
      return std::hash<std::string_view>{}(name);
    }
  };
  std::unordered_map<std::string, Kind, KindHash, std::equal_to<>> kinds_;
  std::unordered_map<std::uint64_t, Entry> entries_;
  std::uint64_t next_id_ = 0;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> timeline_;
  std::size_t running_ = 0;
  std::atomic<bool> closed_{false};  // `stop` was called (read on any thread)
  std::atomic<std::size_t> size_{0};
  std::atomic<std::size_t> running_count_{0};
  prometheus::Family<prometheus::Counter>& runs_;
  prometheus::Gauge& jobs_gauge_;
  prometheus::Gauge& running_gauge_;
};

}  // namespace flint::jobs
