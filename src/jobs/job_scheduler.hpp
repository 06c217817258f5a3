#pragma once

/// @file
/// One scheduler for every asynchronous kind of work: monitoring executions
/// today; infrastructure tasks, storage syncs, reconciles and heartbeat
/// checks later. Each kind registers a handler; jobs carry due times.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "flint/sdk/string_hash.hpp"
#include "logging/log_throttle.hpp"

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
  /// Kind-specific data kept in clear beside a sealed `payload`, readable
  /// when the payload cannot be opened (opaque to the scheduler).
  std::string header;
  /// When the work must be over, whatever its state (the handler enforces
  /// it). Monotonic: a wall clock that steps (NTP, an operator) moves neither
  /// an early end nor a late one. The store keeps wall-clock deadlines, the
  /// only kind a restart can read; `service::running_deadline` converts.
  std::chrono::steady_clock::time_point deadline;
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

class JobScheduler;

/// One run of a job, handed to its kind's handler, which ends it with
/// `finish`: at once, or later from any thread (a driver thread, a store's
/// commit). Only the run's first end counts. A small value: copy it freely.
/// It must not be used after the scheduler is destroyed.
class JobRun {
 public:
  /// Ends the run with what it decided. Ignored when the run has ended
  /// already (finished before, or expired); except that `finished` from an
  /// expired run still ends the job: its work is over, so the job runs no
  /// more (a run going on then is its last).
  void finish(JobStep step) const;

  /// Ends the run as `JobStep::poll_later`, due again after `delay` instead
  /// of the kind's next interval (a periodic job keeps its own period; a
  /// target that said when to ask again is asked then). The interval that
  /// later polls grow from is unchanged. Ignored like `finish`.
  void poll_after(std::chrono::milliseconds delay) const;

  /// Ends the run after an unexpected failure: logs `error` and retries, as
  /// for a handler that throws. Ignored when the run has ended already.
  void fail(const std::exception& error) const;

  /// Bounds the run: unless it ends by `at`, it ends then as `retry_later`,
  /// and the kind's `ExpiryHandler` is called once afterwards. A later
  /// `finish` of this run is ignored. Replaces an earlier bound.
  void expire_at(std::chrono::steady_clock::time_point at) const;

  /// Frees the run's slot (`Options::max_running`) and lifts the bound set by
  /// `expire_at`: what the run still waits for (the commit of its outcome,
  /// say) is no driver call and is bounded elsewhere. The job still does not
  /// run again until this run ends. Ignored when the run has ended already.
  void release() const;

 private:
  friend class JobScheduler;
  JobRun(JobScheduler& scheduler, std::uint64_t id, std::uint64_t run) noexcept
      : scheduler_(&scheduler), id_(id), run_(run) {}
  JobScheduler* scheduler_;
  std::uint64_t id_;
  std::uint64_t run_;
};

/// Starts one run of a job. It must not block: it hands blocking work to
/// another thread (the driver executor) and returns; the run ends when
/// `run.finish` is called. A job is never run twice at once, so the handler
/// may keep what it derives in `job.state`. Called on whatever thread made
/// the job due (the scheduler's timer, or a thread that scheduled, woke or
/// finished a job), under no lock. Must not throw for expected failures
/// (finish with `retry_later`); an exception is logged and the run retried.
using JobHandler = std::function<void(Job& job, JobRun run)>;

/// Told that a run of `job` (a copy, as it was then) overran its bound
/// (`JobRun::expire_at`) and was ended as `retry_later`: to count it, say.
/// Called by the scheduler (from its timer, usually), under no lock.
using ExpiryHandler = std::function<void(const Job& job)>;

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
  /// Runs of this kind holding a slot at once, its share of the scheduler's
  /// `Options::max_running`, so that one kind cannot take every slot from
  /// the others. 0: no share of its own.
  std::size_t max_running = 0;
  /// Runs at once of this kind's jobs that share a lane (`schedule`). A
  /// lane is held from a run's start to its end, a released run
  /// (`JobRun::release`) included: what it still waits for is its work.
  std::size_t runs_per_lane = 1;
};

/// Runs due jobs with bounded concurrency and a lease per job: a job is
/// either waiting for its due time or running, never run twice at once.
/// Concurrency is bounded three ways: slots for the whole scheduler, a
/// kind's share of them, and runs per lane. A due job over a kind's or a
/// lane's bound waits, in the order it came due, until a run there ends; the
/// jobs behind it that are not held up run meanwhile.
///
/// Jobs live in memory; durability is the caller's: it persists a job in the
/// same transaction as the state it belongs to, re-schedules what it loaded
/// at start, and deletes the row when the job is finished. Polls are not
/// persisted, state transitions are. Thread-safe: every public method may be
/// called from any thread. The state sits under one mutex, never held while
/// a handler or callback runs; a single timer on the io_context (touched only
/// on its strand) wakes the scheduler for the earliest due time or run bound,
/// so a poll costs no timer, coroutine or hop of its own.
class JobScheduler {
 public:
  /// Limits.
  struct Options {
    /// Runs holding a slot at once (each holds at most one driver call; a
    /// run that awaits only a commit gives its slot back: `JobRun::release`).
    std::size_t max_running = 256;
  };

  JobScheduler(boost::asio::io_context& io, Options options, prometheus::Registry& registry);
  ~JobScheduler();
  JobScheduler(const JobScheduler&) = delete;
  JobScheduler& operator=(const JobScheduler&) = delete;

  /// Registers a kind. Call before `schedule` uses it.
  void register_kind(std::string kind, KindOptions options, JobHandler handler,
                     ExpiryHandler on_expiry = {});

  /// Adds `job`, due at `due`. A job with the same kind and subject that is
  /// already known is left as it is; but one cancelled while its run goes on
  /// is replaced by `job` once that run ends (a job taken back before its
  /// cancelled run ended: a partition revoked and assigned again).
  /// A non-empty `lane` names the job's lane within its kind: jobs of one
  /// kind that share a lane run at most `KindOptions::runs_per_lane` at once,
  /// in the order they came due (one agent's resources, one storage's syncs).
  void schedule(Job job, std::chrono::steady_clock::time_point due, std::string_view lane = {});

  /// Makes a known job due now (a driver pushed news). A running job runs
  /// again as soon as it ends.
  void wake(std::string_view kind, std::string_view subject);

  /// Forgets a known job (another process took it over): a waiting job is
  /// dropped at once, a running one when its current run ends (its handler
  /// must tolerate that run's outcome going unrecorded, or check ownership),
  /// with the job scheduled again meanwhile, if any.
  void cancel(std::string_view kind, std::string_view subject);

  /// Stops dispatching; running jobs end their current step. A job
  /// scheduled afterwards is dropped at once, on the caller's thread (a
  /// durable job resumes at the next start): nothing is left queued on a
  /// loop that no longer runs, holding what its owners are about to free.
  void stop();

  /// Jobs known (waiting or running).
  std::size_t size() const noexcept { return size_.load(); }
  /// Runs holding a slot now (at most `Options::max_running`): a released
  /// run (`JobRun::release`) no longer counts.
  std::size_t running() const noexcept { return running_count_.load(); }

 private:
  friend class JobRun;
  using Clock = std::chrono::steady_clock;

  // A bound on runs at once (a kind's share, a lane), with the ids of the
  // due jobs it holds back (Entry::held), in the order they came due. An id
  // of a job that ran or went meanwhile is skipped when its turn comes.
  struct Gate {
    std::size_t running = 0;
    std::deque<std::uint64_t> waiting;
    // A lane's: the jobs it has, and its name (its key in Kind::lanes),
    // to erase it when the last one goes.
    std::size_t jobs = 0;
    std::string_view name;
  };
  struct Kind {
    KindOptions options;
    JobHandler handler;
    ExpiryHandler on_expiry;
    prometheus::Counter* finished;
    prometheus::Counter* polled;
    prometheus::Counter* retried;
    // Subject -> entry id, keyed by a view of the entry's own subject.
    std::unordered_map<std::string_view, std::uint64_t> ids;
    Gate share;  // runs holding a slot, against options.max_running
    // Lanes with a job; each lane's name is kept once, here, not per job.
    std::unordered_map<std::string, Gate, sdk::StringHash, std::equal_to<>> lanes;
  };
  struct Entry {
    Job job;
    Kind* kind;
    std::chrono::milliseconds interval{};
    std::uint64_t generation = 0;                          // of its place on the timeline
    std::uint64_t run = 0;                                 // runs started: names the current one
    Clock::time_point expires = Clock::time_point::max();  // the current run's bound
    bool running = false;
    bool released = false;  // the current run gave its slot back (`JobRun::release`)
    bool woken = false;
    bool cancelled = false;
    // Due, and held back by its kind's share or its lane until its turn.
    enum class Hold : std::uint8_t { none, share, lane } held = Hold::none;
    Gate* lane = nullptr;  // in Kind::lanes, if the job has one
    // Scheduled again while `cancelled` and running: takes its place when
    // the run ends, so that the job is never run twice at once. Rare: a
    // pointer, not a Job inline, in every entry of every job in flight.
    struct Successor {
      Job job;
      Clock::time_point due;
      std::string lane;
    };
    std::unique_ptr<Successor> successor;
  };
  // A place on a timeline: small and allocation-free, since every poll adds
  // one. Outdated places (the entry moved, ran or ended) are skipped.
  struct Due {
    Clock::time_point at;
    std::uint64_t id;
    std::uint64_t generation;  // Entry::generation, or Entry::run for a bound
    bool operator>(const Due& other) const noexcept { return at > other.at; }
  };
  // A min-heap of places by time, whose stale places can be pruned.
  class Timeline {
   public:
    bool empty() const noexcept { return heap_.empty(); }
    std::size_t size() const noexcept { return heap_.size(); }
    const Due& top() const noexcept { return heap_.front(); }
    void push(const Due& due) {
      heap_.push_back(due);
      std::push_heap(heap_.begin(), heap_.end(), std::greater<>());
    }
    void pop() {
      std::pop_heap(heap_.begin(), heap_.end(), std::greater<>());
      heap_.pop_back();
    }
    template <class Stale>
    void prune(Stale stale) {
      std::erase_if(heap_, stale);
      std::make_heap(heap_.begin(), heap_.end(), std::greater<>());
    }

   private:
    std::vector<Due> heap_;
  };
  // A run to start, collected under the lock and started after it.
  struct Start {
    std::uint64_t id;
    std::uint64_t run;
    Job* job;
    const JobHandler* handler;
  };
  // A run that overran its bound, to tell its kind about after the lock.
  struct Expired {
    const ExpiryHandler* handler;
    Job job;
  };

  void enqueue(std::uint64_t id, Entry& entry, Clock::time_point at);
  // Under mutex_: adds `job` due at `due`, unless its subject is known (a
  // cancelled running entry then keeps it as its successor). True when added.
  bool add_locked(Kind& kind, Job job, Clock::time_point due, std::string_view lane);
  // Starts due runs and ends expired ones until none is left; re-arms the
  // timer. Re-entrant calls on the same thread (a handler that finishes at
  // once) return at once: the outer call's loop picks up what they freed.
  void dispatch();
  // Under mutex_: the next batch of work, and the timer's new time if it
  // must fire earlier than it is set to.
  void collect(Clock::time_point now, std::vector<Start>& starts, std::vector<Expired>& expired);
  // Under mutex_: the running entry `bound` still bounds, or null if stale.
  Entry* bound_entry(const Due& bound);
  void arm_locked();
  void on_timer();
  void start(const Start& start);
  // Under mutex_: the entry whose run `run` is still going, or null.
  Entry* current_run_locked(std::uint64_t id, std::uint64_t run);
  // Under mutex_: ends the run (when it is current) with `step`, due again
  // after `delay` if given (poll_later), else after the next interval.
  bool end_run_locked(std::uint64_t id, std::uint64_t run, JobStep step,
                      std::optional<std::chrono::milliseconds> delay = {});
  void finish(std::uint64_t id, std::uint64_t run, JobStep step,
              std::optional<std::chrono::milliseconds> delay = {});
  void fail(std::uint64_t id, std::uint64_t run, const std::exception& error);
  void expire_at(std::uint64_t id, std::uint64_t run, Clock::time_point at);
  void release(std::uint64_t id, std::uint64_t run);
  // Under mutex_: claims a slot of `entry`'s kind share and of its lane for
  // a run; or, when either is full, holds the entry back there and is false.
  bool admit_locked(std::uint64_t id, Entry& entry);
  // Under mutex_: the gate holding `entry` back, or null.
  static Gate* holder(Entry& entry) noexcept;
  // Under mutex_: when `gate` has room for another run, makes the first job
  // it holds back due now.
  void open_locked(Gate& gate, std::size_t limit);
  // Under mutex_: ends a run's claim on its lane.
  void leave_lane_locked(Entry& entry);
  // Under mutex_: gives a running entry's slot back.
  void free_slot_locked(Entry& entry);
  // After a slot was freed: starts what waited for one, or re-arms the timer.
  void dispatch_freed(std::unique_lock<std::mutex>& lock);
  void drop_locked(std::unordered_map<std::uint64_t, Entry>::iterator it);
  std::chrono::milliseconds next_interval(Entry& entry);

  Options options_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::steady_timer timer_;  // only on strand_
  // Transparent: a lookup by the job's kind (a view) builds no string.
  struct KindHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const noexcept {
      return std::hash<std::string_view>{}(name);
    }
  };
  // Filled before the first job, read-only afterwards (but for Kind::ids).
  std::unordered_map<std::string, Kind, KindHash, std::equal_to<>> kinds_;

  // A failure shared by every job (a full disk) must not flood the log.
  logging::LogThrottle failures_log_{std::chrono::seconds(10)};

  std::mutex mutex_;  // everything below, but the atomics
  std::unordered_map<std::uint64_t, Entry> entries_;
  std::uint64_t next_id_ = 0;
  Timeline timeline_;  // due times of waiting jobs
  Timeline bounds_;    // bounds of running ones (`JobRun::expire_at`)
  std::size_t running_ = 0;
  // When the timer is set to fire (max: not set). Only ever lowered, but
  // when it fires.
  Clock::time_point timer_at_ = Clock::time_point::max();

  std::atomic<bool> closed_{false};  // `stop` was called (read on any thread)
  std::atomic<std::size_t> size_{0};
  std::atomic<std::size_t> running_count_{0};
  prometheus::Family<prometheus::Counter>& runs_;
  prometheus::Gauge& jobs_gauge_;
  prometheus::Gauge& running_gauge_;
};

}  // namespace flint::jobs
