#include "jobs/job_scheduler.hpp"

#include <algorithm>
#include <random>

#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include "logging/logging.hpp"

namespace flint::jobs {

namespace asio = boost::asio;

namespace {

double random_unit() {
  thread_local std::minstd_rand generator{std::random_device{}()};
  return std::uniform_real_distribution<double>(-1.0, 1.0)(generator);
}

// The scheduler whose dispatch loop runs on this thread, if any.
thread_local const JobScheduler* dispatching = nullptr;

}  // namespace

void JobRun::finish(JobStep step) const {
  scheduler_->finish(id_, run_, step);
}

void JobRun::poll_after(std::chrono::milliseconds delay) const {
  scheduler_->finish(id_, run_, JobStep::poll_later, delay);
}

void JobRun::fail(const std::exception& error) const {
  scheduler_->fail(id_, run_, error);
}

void JobRun::expire_at(std::chrono::steady_clock::time_point at) const {
  scheduler_->expire_at(id_, run_, at);
}

void JobRun::release() const {
  scheduler_->release(id_, run_);
}

JobScheduler::JobScheduler(asio::io_context& io, Options options, prometheus::Registry& registry)
    : options_(options),
      strand_(asio::make_strand(io)),
      timer_(strand_),
      runs_(prometheus::BuildCounter()
                .Name("flint_job_runs_total")
                .Help("Job runs by kind and what they decided (finished, poll_later, retry_later)")
                .Register(registry)),
      jobs_gauge_(prometheus::BuildGauge()
                      .Name("flint_jobs")
                      .Help("Jobs known to the scheduler (waiting or running)")
                      .Register(registry)
                      .Add({})),
      running_gauge_(prometheus::BuildGauge()
                         .Name("flint_jobs_running")
                         .Help("Job runs holding a slot (at most monitoring.max_running)")
                         .Register(registry)
                         .Add({})) {}

JobScheduler::~JobScheduler() = default;

void JobScheduler::register_kind(std::string kind, KindOptions options, JobHandler handler,
                                 ExpiryHandler on_expiry) {
  Kind entry{options,
             std::move(handler),
             std::move(on_expiry),
             &runs_.Add({{"kind", kind}, {"step", "finished"}}),
             &runs_.Add({{"kind", kind}, {"step", "poll_later"}}),
             &runs_.Add({{"kind", kind}, {"step", "retry_later"}}),
             {},
             {},
             {}};
  kinds_.emplace(std::move(kind), std::move(entry));
}

void JobScheduler::schedule(Job job, Clock::time_point due, std::string_view lane) {
  if (closed_.load()) return;
  auto kind = kinds_.find(job.kind);
  if (kind == kinds_.end()) {
    logging::logger("jobs")->error("job {} of unknown kind {} dropped", job.subject, job.kind);
    return;
  }
  job.kind = kind->first;
  {
    std::lock_guard lock(mutex_);
    if (!add_locked(kind->second, std::move(job), due, lane)) return;
    // A job due later only needs the timer: the common case (a new
    // execution's first poll) takes no dispatch pass.
    if (due > Clock::now()) {
      arm_locked();
      return;
    }
  }
  dispatch();
}

bool JobScheduler::add_locked(Kind& kind, Job job, Clock::time_point due, std::string_view lane) {
  const std::uint64_t id = next_id_;
  const auto placed = entries_.try_emplace(id);
  Entry& entry = placed.first->second;
  entry.job = std::move(job);
  // One lookup both checks and claims the subject (keyed by the entry's
  // own copy of it); a job already known stays as it is.
  const auto [known, claimed] = kind.ids.try_emplace(entry.job.subject, id);
  if (!claimed) {
    Entry& holder = entries_.at(known->second);
    // Dropped when its run ends, it would take this one with it.
    if (holder.cancelled) {
      holder.successor = std::make_unique<Entry::Successor>(
          Entry::Successor{std::move(entry.job), due, std::string(lane)});
    }
    entries_.erase(placed.first);
    return false;
  }
  ++next_id_;
  entry.kind = &kind;
  entry.interval = kind.options.min_interval;
  if (!lane.empty()) {
    auto named = kind.lanes.find(lane);
    if (named == kind.lanes.end()) {
      named = kind.lanes.emplace(std::string(lane), Gate{}).first;
      named->second.name = named->first;
    }
    ++named->second.jobs;
    entry.lane = &named->second;
  }
  ++size_;
  jobs_gauge_.Increment();
  enqueue(id, entry, due);
  return true;
}

void JobScheduler::wake(std::string_view kind, std::string_view subject) {
  auto registered = kinds_.find(kind);
  if (registered == kinds_.end() || closed_.load()) return;
  {
    std::lock_guard lock(mutex_);
    auto index = registered->second.ids.find(subject);
    if (index == registered->second.ids.end()) return;
    const std::uint64_t id = index->second;
    Entry& entry = entries_.at(id);
    if (entry.running) {
      entry.woken = true;  // run again as soon as this run ends
      return;
    }
    enqueue(id, entry, Clock::now());
  }
  dispatch();
}

void JobScheduler::cancel(std::string_view kind, std::string_view subject) {
  auto registered = kinds_.find(kind);
  if (registered == kinds_.end()) return;
  std::lock_guard lock(mutex_);
  auto index = registered->second.ids.find(subject);
  if (index == registered->second.ids.end()) return;
  auto it = entries_.find(index->second);
  if (it->second.running) {
    it->second.cancelled = true;  // dropped when this run ends, whatever it decided
    it->second.successor.reset();
    return;
  }
  drop_locked(it);
}

void JobScheduler::drop_locked(std::unordered_map<std::uint64_t, Entry>::iterator it) {
  Entry& entry = it->second;
  // Its places in a gate's queue are skipped when their turn comes.
  if (entry.lane != nullptr && --entry.lane->jobs == 0) {
    entry.kind->lanes.erase(entry.kind->lanes.find(entry.lane->name));
  }
  entry.kind->ids.erase(std::string_view(entry.job.subject));
  entries_.erase(it);  // its places on the timelines become stale
  --size_;
  jobs_gauge_.Decrement();
}

void JobScheduler::stop() {
  closed_.store(true);
  asio::post(strand_, [this] { timer_.cancel(); });
}

void JobScheduler::enqueue(std::uint64_t id, Entry& entry, Clock::time_point at) {
  // Earlier places of this entry become stale: the generation tells.
  timeline_.push({at, id, ++entry.generation});
}

void JobScheduler::dispatch() {
  if (dispatching == this) return;  // the loop below goes round again
  struct Mark {
    const JobScheduler* outer = dispatching;
    explicit Mark(const JobScheduler* self) { dispatching = self; }
    ~Mark() { dispatching = outer; }
  } mark(this);
  std::vector<Start> starts;
  std::vector<Expired> expired;
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      collect(Clock::now(), starts, expired);
      arm_locked();
    }
    if (starts.empty() && expired.empty()) break;
    for (const auto& run : expired) {
      if (!*run.handler) continue;
      try {
        (*run.handler)(run.job);
      } catch (const std::exception& e) {
        logging::logger("jobs")->error("a job's expiry callback failed: {}", e.what());
      }
    }
    for (const auto& run : starts) start(run);
    starts.clear();
    expired.clear();
  }
}

void JobScheduler::collect(Clock::time_point now, std::vector<Start>& starts,
                           std::vector<Expired>& expired) {
  while (!bounds_.empty() && bounds_.top().at <= now) {
    const Due due = bounds_.top();
    bounds_.pop();
    Entry* entry = bound_entry(due);
    if (entry == nullptr) continue;
    expired.push_back({&entry->kind->on_expiry, entry->job});
    end_run_locked(due.id, due.generation, JobStep::retry_later);
  }
  while (!closed_.load() && running_ < options_.max_running && !timeline_.empty() &&
         timeline_.top().at <= now) {
    const Due due = timeline_.top();
    timeline_.pop();
    auto it = entries_.find(due.id);
    if (it == entries_.end() || it->second.generation != due.generation || it->second.running) {
      continue;
    }
    Entry& entry = it->second;
    if (!admit_locked(due.id, entry)) continue;
    entry.running = true;
    entry.woken = false;
    ++running_;
    ++running_count_;
    running_gauge_.Increment();
    starts.push_back({due.id, ++entry.run, &entry.job, &entry.kind->handler});
  }
}

JobScheduler::Gate* JobScheduler::holder(Entry& entry) noexcept {
  switch (entry.held) {
    case Entry::Hold::share:
      return &entry.kind->share;
    case Entry::Hold::lane:
      return entry.lane;
    case Entry::Hold::none:
      break;
  }
  return nullptr;
}

bool JobScheduler::admit_locked(std::uint64_t id, Entry& entry) {
  Kind& kind = *entry.kind;
  const auto hold = [&](Entry::Hold where, Gate& gate) {
    if (entry.held != where) {
      entry.held = where;
      gate.waiting.push_back(id);
    }
    return false;
  };
  const std::size_t share = kind.options.max_running;
  if (share != 0 && kind.share.running >= share) return hold(Entry::Hold::share, kind.share);
  if (entry.lane != nullptr) {
    if (entry.lane->running >= kind.options.runs_per_lane) {
      // A job the share let through may leave room there for the next.
      if (share != 0) open_locked(kind.share, share);
      return hold(Entry::Hold::lane, *entry.lane);
    }
    ++entry.lane->running;
  }
  ++kind.share.running;
  entry.held = Entry::Hold::none;
  return true;
}

void JobScheduler::open_locked(Gate& gate, std::size_t limit) {
  while (gate.running < limit && !gate.waiting.empty()) {
    const std::uint64_t id = gate.waiting.front();
    gate.waiting.pop_front();
    auto it = entries_.find(id);
    // Skipped: a job gone, or one that ran after all (woken) or waits elsewhere.
    if (it == entries_.end() || holder(it->second) != &gate || it->second.running) continue;
    it->second.held = Entry::Hold::none;
    // Due since it was held: ahead of any job that came due after it.
    enqueue(id, it->second, Clock::time_point::min());
    return;
  }
}

void JobScheduler::leave_lane_locked(Entry& entry) {
  --entry.lane->running;
  open_locked(*entry.lane, entry.kind->options.runs_per_lane);
}

JobScheduler::Entry* JobScheduler::bound_entry(const Due& bound) {
  auto it = entries_.find(bound.id);
  if (it == entries_.end()) return nullptr;
  Entry& entry = it->second;
  // Stale when the run ended, or was bound again since.
  const bool current = entry.running && entry.run == bound.generation && entry.expires == bound.at;
  return current ? &entry : nullptr;
}

void JobScheduler::arm_locked() {
  if (closed_.load()) return;
  auto next = Clock::time_point::max();
  if (!bounds_.empty()) next = bounds_.top().at;
  if (!timeline_.empty() && running_ < options_.max_running) {
    next = std::min(next, timeline_.top().at);
  }
  if (next >= timer_at_) return;  // already set to fire no later
  timer_at_ = next;
  asio::post(strand_, [this, next] {
    if (closed_.load()) return;
    // Setting the timer cancels the wait set for a later time.
    timer_.expires_at(next);
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) on_timer();
    });
  });
}

void JobScheduler::on_timer() {
  {
    std::lock_guard lock(mutex_);
    timer_at_ = Clock::time_point::max();
  }
  dispatch();  // runs what is due and sets the timer for what is next
}

void JobScheduler::start(const Start& start) {
  try {
    (*start.handler)(*start.job, JobRun(*this, start.id, start.run));
  } catch (const std::exception& e) {
    fail(start.id, start.run, e);
  }
}

JobScheduler::Entry* JobScheduler::current_run_locked(std::uint64_t id, std::uint64_t run) {
  auto it = entries_.find(id);
  if (it == entries_.end() || !it->second.running || it->second.run != run) return nullptr;
  return &it->second;
}

bool JobScheduler::end_run_locked(std::uint64_t id, std::uint64_t run, JobStep step,
                                  std::optional<std::chrono::milliseconds> delay) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return false;
  Entry& entry = it->second;
  if (!entry.running || entry.run != run) return false;  // ended already
  entry.running = false;
  if (!entry.released) free_slot_locked(entry);
  entry.released = false;
  if (entry.lane != nullptr) leave_lane_locked(entry);
  entry.expires = Clock::time_point::max();
  ++entry.job.attempts;
  switch (step) {
    case JobStep::finished:
      entry.kind->finished->Increment();
      break;
    case JobStep::poll_later:
      entry.kind->polled->Increment();
      break;
    case JobStep::retry_later:
      entry.kind->retried->Increment();
      break;
  }
  if (step == JobStep::finished || entry.cancelled) {
    auto successor = std::move(entry.successor);
    Kind& kind = *entry.kind;
    drop_locked(it);
    if (successor && !closed_.load()) {
      add_locked(kind, std::move(successor->job), successor->due, successor->lane);
    }
  } else if (!closed_.load()) {
    const auto now = Clock::now();
    // A chosen delay leaves the interval later polls grow from as it was.
    enqueue(id, entry, entry.woken ? now : now + (delay ? *delay : next_interval(entry)));
    entry.woken = false;
  }
  return true;
}

void JobScheduler::free_slot_locked(Entry& entry) {
  --running_;
  --running_count_;
  running_gauge_.Decrement();
  Kind& kind = *entry.kind;
  --kind.share.running;
  if (kind.options.max_running != 0) open_locked(kind.share, kind.options.max_running);
}

void JobScheduler::dispatch_freed(std::unique_lock<std::mutex>& lock) {
  // The job that freed the slot runs again an interval away at the soonest;
  // only a job waiting for a free slot (or a woken one) can be due now.
  if (timeline_.empty() || timeline_.top().at > Clock::now()) {
    arm_locked();
    return;
  }
  lock.unlock();
  dispatch();
}

void JobScheduler::finish(std::uint64_t id, std::uint64_t run, JobStep step,
                          std::optional<std::chrono::milliseconds> delay) {
  std::unique_lock lock(mutex_);
  if (end_run_locked(id, run, step, delay)) {
    dispatch_freed(lock);
    return;
  }
  if (step != JobStep::finished) return;
  // A run that expired and then learnt that the work is over (a poll whose
  // late answer ended the execution): the job was put back to run again, and
  // must not, whatever its later runs are doing.
  auto it = entries_.find(id);
  if (it == entries_.end()) return;  // dropped already
  if (it->second.running) {
    it->second.cancelled = true;  // dropped when that run ends
  } else {
    drop_locked(it);
  }
}

void JobScheduler::fail(std::uint64_t id, std::uint64_t run, const std::exception& error) {
  std::string subject;
  std::string_view kind;
  {
    std::lock_guard lock(mutex_);
    const Entry* entry = current_run_locked(id, run);
    if (entry == nullptr) return;
    subject = entry->job.subject;
    kind = entry->job.kind;
  }
  if (const auto held_back = failures_log_.admit()) {
    logging::logger("jobs")->error(
        "job {} of kind {} failed: {}; retrying{}", subject, kind, error.what(),
        *held_back == 0
            ? std::string()
            : fmt::format(" ({} more failures of jobs in the last 10 s not logged)", *held_back));
  }
  finish(id, run, JobStep::retry_later);
}

void JobScheduler::expire_at(std::uint64_t id, std::uint64_t run, Clock::time_point at) {
  std::lock_guard lock(mutex_);
  Entry* entry = current_run_locked(id, run);
  if (entry == nullptr || entry->released) return;
  entry->expires = at;
  bounds_.push({at, id, run});
  // A run that ends leaves its bound behind (most do: a bound is for the
  // call that overruns). Pruned in bulk, they cost O(1) each, and the
  // timeline stays within a few times the runs in flight.
  if (bounds_.size() > 2 * running_ + 64) {
    bounds_.prune([this](const Due& due) { return bound_entry(due) == nullptr; });
  }
  arm_locked();
}

void JobScheduler::release(std::uint64_t id, std::uint64_t run) {
  std::unique_lock lock(mutex_);
  Entry* entry = current_run_locked(id, run);
  if (entry == nullptr || entry->released) return;
  entry->released = true;
  entry->expires = Clock::time_point::max();  // its place on bounds_ is stale now
  free_slot_locked(*entry);
  dispatch_freed(lock);
}

std::chrono::milliseconds JobScheduler::next_interval(Entry& entry) {
  // Polls and retries back off alike: both mean "not yet".
  const KindOptions& options = entry.kind->options;
  const auto base = entry.interval;
  entry.interval = std::clamp(std::chrono::milliseconds(static_cast<std::int64_t>(
                                  static_cast<double>(base.count()) * options.backoff)),
                              options.min_interval, options.max_interval);
  // Jitter within the bounds: min_interval stays the floor, max the ceiling.
  const double spread = 1.0 + options.jitter * random_unit();
  return std::clamp(std::chrono::milliseconds(
                        static_cast<std::int64_t>(static_cast<double>(base.count()) * spread)),
                    options.min_interval, options.max_interval);
}

}  // namespace flint::jobs
