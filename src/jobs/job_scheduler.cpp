#include "jobs/job_scheduler.hpp"

#include <algorithm>
#include <random>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

#include "logging/logging.hpp"

namespace flint::jobs {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

double random_unit() {
  thread_local std::minstd_rand generator{std::random_device{}()};
  return std::uniform_real_distribution<double>(-1.0, 1.0)(generator);
}

}  // namespace

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
                         .Help("Job runs in flight")
                         .Register(registry)
                         .Add({})) {}

JobScheduler::~JobScheduler() = default;

void JobScheduler::register_kind(std::string kind, KindOptions options, JobHandler handler) {
  Kind entry{options,
             std::move(handler),
             &runs_.Add({{"kind", kind}, {"step", "finished"}}),
             &runs_.Add({{"kind", kind}, {"step", "poll_later"}}),
             &runs_.Add({{"kind", kind}, {"step", "retry_later"}}),
             {}};
  kinds_.emplace(std::move(kind), std::move(entry));
}

void JobScheduler::schedule(Job job, Clock::time_point due) {
  if (closed_.load()) return;
  asio::post(strand_, [this, job = std::move(job), due]() mutable {
    if (closed_.load()) return;
    auto kind = kinds_.find(job.kind);
    if (kind == kinds_.end()) {
      logging::logger("jobs")->error("job {} of unknown kind {} dropped", job.subject, job.kind);
      return;
    }
    Kind& registered = kind->second;
    const std::uint64_t id = next_id_;
    const auto placed = entries_.try_emplace(id);
    Entry& entry = placed.first->second;
    job.kind = kind->first;
    entry.job = std::move(job);
    // One lookup both checks and claims the subject (keyed by the entry's
    // own copy of it); a job already known stays as it is.
    if (!registered.ids.try_emplace(entry.job.subject, id).second) {
      entries_.erase(placed.first);
      return;
    }
    ++next_id_;
    entry.kind = &registered;
    entry.interval = registered.options.min_interval;
    ++size_;
    jobs_gauge_.Increment();
    enqueue(id, entry, due);
    dispatch();
  });
}

void JobScheduler::wake(std::string_view kind, std::string_view subject) {
  asio::post(strand_, [this, kind = std::string(kind), subject = std::string(subject)] {
    auto registered = kinds_.find(kind);
    if (registered == kinds_.end() || closed_.load()) return;
    auto index = registered->second.ids.find(subject);
    if (index == registered->second.ids.end()) return;
    const std::uint64_t id = index->second;
    Entry& entry = entries_.at(id);
    if (entry.running) {
      entry.woken = true;  // run again as soon as this run ends
      return;
    }
    enqueue(id, entry, Clock::now());
    dispatch();
  });
}

void JobScheduler::cancel(std::string_view kind, std::string_view subject) {
  asio::post(strand_, [this, kind = std::string(kind), subject = std::string(subject)] {
    auto registered = kinds_.find(kind);
    if (registered == kinds_.end()) return;
    auto index = registered->second.ids.find(subject);
    if (index == registered->second.ids.end()) return;
    const std::uint64_t id = index->second;
    Entry& entry = entries_.at(id);
    if (entry.running) {
      entry.cancelled = true;  // dropped when this run ends, whatever it decided
      return;
    }
    drop(id);
  });
}

void JobScheduler::drop(std::uint64_t id) {
  auto it = entries_.find(id);
  it->second.kind->ids.erase(std::string_view(it->second.job.subject));
  entries_.erase(it);  // its places on the timeline become stale
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
  const auto now = Clock::now();
  while (!closed_.load() && running_ < options_.max_running && !timeline_.empty() &&
         timeline_.top().at <= now) {
    Due due = timeline_.top();
    timeline_.pop();
    auto it = entries_.find(due.id);
    if (it == entries_.end() || it->second.generation != due.generation || it->second.running) {
      continue;
    }
    Entry& entry = it->second;
    entry.running = true;
    entry.woken = false;
    ++running_;
    ++running_count_;
    running_gauge_.Increment();
    // On the scheduler's own strand: handlers only await (their blocking work
    // runs on driver threads), and the run ends without another hop.
    asio::co_spawn(strand_, run(due.id, &entry.job, entry.kind), asio::detached);
  }
  arm_timer();
}

void JobScheduler::arm_timer() {
  if (closed_.load() || timeline_.empty() || running_ >= options_.max_running) return;
  const auto next = timeline_.top().at;
  if (next >= timer_at_) return;  // already set to fire no later
  timer_at_ = next;
  timer_.expires_at(next);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // re-armed earlier, or stopped
    timer_at_ = Clock::time_point::max();
    dispatch();
  });
}

asio::awaitable<void> JobScheduler::run(std::uint64_t id, Job* job, Kind* kind) {
  JobStep step = JobStep::retry_later;
  try {
    step = co_await kind->handler(*job);
  } catch (const std::exception& e) {
    logging::logger("jobs")->error("job {} of kind {} failed: {}; retrying", job->subject,
                                   job->kind, e.what());
  }
  ++job->attempts;
  finish(id, step);
}

void JobScheduler::finish(std::uint64_t id, JobStep step) {
  --running_;
  --running_count_;
  running_gauge_.Decrement();
  auto it = entries_.find(id);
  Entry& entry = it->second;
  entry.running = false;
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
    drop(id);
  } else if (!closed_.load()) {
    const auto now = Clock::now();
    enqueue(id, entry, entry.woken ? now : now + next_interval(entry, step));
    entry.woken = false;
  }
  dispatch();
}

std::chrono::milliseconds JobScheduler::next_interval(Entry& entry, JobStep step) {
  const KindOptions& options = entry.kind->options;
  (void)step;  // polls and retries back off alike; both mean "not yet"
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
