#include "jobs/job_scheduler.hpp"

#include <algorithm>
#include <atomic>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

namespace flint::jobs {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

Job job(std::string subject) {
  return {"test", std::move(subject), "payload", "", std::chrono::steady_clock::now() + 1h, 0, {}};
}

Job job(std::string subject, std::string_view kind) {
  Job of_kind = job(std::move(subject));
  of_kind.kind = kind;
  return of_kind;
}

// Calls `then` on `io` after `delay`, as a driver call that takes a while.
void after(asio::io_context& io, std::chrono::milliseconds delay, std::function<void()> then) {
  auto timer = std::make_shared<asio::steady_timer>(io, delay);
  timer->async_wait([timer, then = std::move(then)](const boost::system::error_code&) { then(); });
}

class JobSchedulerTest : public ::testing::Test {
 protected:
  void run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 5s) {
    const auto deadline = Clock::now() + limit;
    while (!done() && Clock::now() < deadline) {
      io_.run_for(5ms);
      io_.restart();
    }
  }
  // Registers kind "test", whose runs are listed in `order_` and end at
  // once, but for job "first": its run is kept in `first_` (holding its lane)
  // for the test to end. `also` runs before each other run ends.
  void record_runs(JobScheduler& scheduler, std::function<void(Job&)> also = {}) {
    scheduler.register_kind("test", {.min_interval = 1h}, [this, also](Job& j, JobRun run) {
      order_.push_back(j.subject);
      if (j.subject == "first") {
        first_ = run;
        return;
      }
      if (also) also(j);
      run.finish(JobStep::finished);
    });
  }

  prometheus::Registry registry_;
  asio::io_context io_;
  std::vector<std::string> order_;
  std::optional<JobRun> first_;
};

TEST_F(JobSchedulerTest, PollsUntilFinishedWithGrowingIntervals) {
  JobScheduler scheduler(io_, {.max_running = 8}, registry_);
  std::vector<Clock::time_point> runs;
  scheduler.register_kind("test",
                          {.min_interval = 10ms, .max_interval = 40ms, .backoff = 2.0, .jitter = 0},
                          [&](Job& j, JobRun run) {
                            EXPECT_EQ(j.payload, "payload");
                            runs.push_back(Clock::now());
                            run.finish(runs.size() < 5 ? JobStep::poll_later : JobStep::finished);
                          });
  scheduler.schedule(job("a"), Clock::now());
  run_until([&] { return scheduler.size() == 0 && runs.size() == 5; });
  ASSERT_EQ(runs.size(), 5u);
  EXPECT_EQ(scheduler.size(), 0u);
  // 10, 20, 40, 40 ms apart (at least).
  EXPECT_GE(runs[1] - runs[0], 10ms);
  EXPECT_GE(runs[2] - runs[1], 20ms);
  EXPECT_GE(runs[3] - runs[2], 40ms);
  EXPECT_GE(runs[4] - runs[3], 40ms);
}

TEST_F(JobSchedulerTest, BoundsConcurrencyAndNeverRunsAJobTwiceAtOnce) {
  JobScheduler scheduler(io_, {.max_running = 3}, registry_);
  int running = 0, peak = 0, finished = 0;
  std::map<std::string, int> active;
  std::mutex mutex;
  scheduler.register_kind("test", {.min_interval = 1ms, .max_interval = 2ms},
                          [&](Job& j, JobRun run) {
                            {
                              std::lock_guard lock(mutex);
                              EXPECT_EQ(active[j.subject]++, 0) << "job ran twice at once";
                              peak = std::max(peak, ++running);
                            }
                            after(io_, 5ms, [&, run, subject = j.subject, attempts = j.attempts] {
                              {
                                std::lock_guard lock(mutex);
                                --active[subject];
                                --running;
                                if (attempts >= 2) ++finished;
                              }
                              // Unlocked: the next run may start inside.
                              run.finish(attempts >= 2 ? JobStep::finished : JobStep::poll_later);
                            });
                          });
  for (int i = 0; i < 10; ++i) scheduler.schedule(job("j" + std::to_string(i)), Clock::now());
  run_until([&] { return finished == 10; });
  EXPECT_EQ(finished, 10);
  EXPECT_LE(peak, 3);
  EXPECT_GE(peak, 2);
}

TEST_F(JobSchedulerTest, WakeRunsAWaitingJobNow) {
  JobScheduler scheduler(io_, {}, registry_);
  int runs = 0;
  scheduler.register_kind("test", {.min_interval = 1h, .max_interval = 1h}, [&](Job&, JobRun run) {
    ++runs;
    run.finish(runs == 2 ? JobStep::finished : JobStep::poll_later);
  });
  scheduler.schedule(job("a"), Clock::now());
  run_until([&] { return runs == 1; });
  const auto woken = Clock::now();
  scheduler.wake("test", "a");
  run_until([&] { return runs == 2; });
  EXPECT_EQ(runs, 2);
  EXPECT_LT(Clock::now() - woken, 1s);
}

TEST_F(JobSchedulerTest, ScheduleIgnoresAJobItAlreadyHasAndUnknownKinds) {
  JobScheduler scheduler(io_, {}, registry_);
  int runs = 0;
  scheduler.register_kind("test", {}, [&](Job&, JobRun run) {
    ++runs;
    run.finish(JobStep::finished);
  });
  scheduler.schedule(job("a"), Clock::now() + 20ms);
  scheduler.schedule(job("a"), Clock::now());
  scheduler.schedule({"nope", "x", "", "", {}, 0, {}}, Clock::now());
  run_until([&] { return runs == 1 && scheduler.size() == 0; });
  io_.run_for(30ms);
  EXPECT_EQ(runs, 1);
}

TEST_F(JobSchedulerTest, AThrowingHandlerIsRetried) {
  JobScheduler scheduler(io_, {}, registry_);
  int runs = 0;
  scheduler.register_kind("test", {.min_interval = 1ms}, [&](Job&, JobRun run) {
    if (++runs == 1) throw std::runtime_error("boom");
    run.finish(JobStep::finished);
  });
  scheduler.schedule(job("a"), Clock::now());
  run_until([&] { return runs == 2 && scheduler.size() == 0; });
  EXPECT_EQ(runs, 2);
}

TEST_F(JobSchedulerTest, CancelDropsWaitingJobsAndRunningOnesWhenTheirRunEnds) {
  JobScheduler scheduler(io_, {.max_running = 8}, registry_);
  std::map<std::string, int> runs;
  scheduler.register_kind(
      "test", {.min_interval = 10ms, .max_interval = 10ms, .jitter = 0}, [&](Job& j, JobRun run) {
        ++runs[j.subject];
        after(io_, j.subject == "running" ? 30ms : 0ms, [run] { run.finish(JobStep::poll_later); });
      });
  // Due long after the cancel, however slowly this thread gets there.
  scheduler.schedule(job("waiting"), Clock::now() + 5s);
  scheduler.schedule(job("running"), Clock::now());
  scheduler.schedule(job("kept"), Clock::now());
  run_until([&] { return runs["running"] == 1; });
  scheduler.cancel("test", "waiting");
  scheduler.cancel("test", "running");  // mid-run: dropped once the run ends
  scheduler.cancel("test", "unknown");  // nothing to do
  run_until([&] { return scheduler.size() == 1; });
  const auto start = Clock::now();
  run_until([&] { return Clock::now() - start > 60ms; });
  EXPECT_EQ(scheduler.size(), 1u);
  EXPECT_EQ(runs["waiting"], 0);
  EXPECT_EQ(runs["running"], 1);
  EXPECT_GT(runs["kept"], 2);
}

TEST_F(JobSchedulerTest, AJobTakenBackDuringItsCancelledRunRunsAgainAfterIt) {
  // A partition revoked in the middle of a poll and assigned again at once:
  // cancel, then schedule, while the run is still going.
  JobScheduler scheduler(io_, {.max_running = 8}, registry_);
  std::vector<std::string> payloads;
  int running = 0;
  int overlapped = 0;
  scheduler.register_kind("test", {.min_interval = 5ms, .max_interval = 5ms, .jitter = 0},
                          [&](Job& j, JobRun run) {
                            payloads.push_back(j.payload);
                            if (++running > 1) ++overlapped;
                            after(io_, 30ms, [&, run] {
                              --running;
                              run.finish(JobStep::poll_later);
                            });
                          });
  scheduler.schedule(job("a"), Clock::now());
  run_until([&] { return payloads.size() == 1; });
  scheduler.cancel("test", "a");
  Job again = job("a");
  again.payload = "adopted";
  scheduler.schedule(std::move(again), Clock::now());
  run_until([&] { return payloads.size() >= 3; });
  ASSERT_GE(payloads.size(), 3u) << "the job taken back was dropped with the cancelled run";
  EXPECT_EQ(payloads[1], "adopted");
  EXPECT_EQ(overlapped, 0);  // never twice at once
  EXPECT_EQ(scheduler.size(), 1u);

  // Cancelled again before the run ended: the successor goes too.
  run_until([&] { return running == 1; });
  scheduler.cancel("test", "a");
  scheduler.schedule(job("a"), Clock::now());
  scheduler.cancel("test", "a");
  run_until([&] { return scheduler.size() == 0; });
  const auto settled = payloads.size();
  const auto start = Clock::now();
  run_until([&] { return Clock::now() - start > 50ms; });
  EXPECT_EQ(scheduler.size(), 0u);
  EXPECT_EQ(payloads.size(), settled);
}

TEST_F(JobSchedulerTest, AJobScheduledAfterStopIsDroppedWithoutTouchingTheLoop) {
  JobScheduler scheduler(io_, {.max_running = 8}, registry_);
  std::atomic<int> runs{0};
  scheduler.register_kind("test", {.min_interval = 1ms, .max_interval = 1ms, .jitter = 0},
                          [&](Job&, JobRun run) {
                            ++runs;
                            run.finish(JobStep::finished);
                          });
  scheduler.stop();
  scheduler.schedule(job("late"), Clock::now());
  // Nothing was queued: the loop has no work left at all.
  EXPECT_EQ(io_.poll(), 1u);  // the stop itself
  EXPECT_EQ(io_.poll(), 0u);
  EXPECT_EQ(scheduler.size(), 0u);
  EXPECT_EQ(runs.load(), 0);
}

TEST_F(JobSchedulerTest, ARunMayEndOnAnotherThread) {
  JobScheduler scheduler(io_, {}, registry_);
  std::atomic<int> runs{0};
  std::vector<std::thread> threads;
  scheduler.register_kind("test", {.min_interval = 1ms, .jitter = 0}, [&](Job&, JobRun run) {
    const int n = ++runs;
    threads.emplace_back([run, n] { run.finish(n < 3 ? JobStep::poll_later : JobStep::finished); });
  });
  scheduler.schedule(job("a"), Clock::now());
  run_until([&] { return scheduler.size() == 0; });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(runs.load(), 3);
  EXPECT_EQ(scheduler.running(), 0u);
}

TEST_F(JobSchedulerTest, ARunPastItsBoundIsRetriedAndOnlyALateFinishCounts) {
  JobScheduler scheduler(io_, {}, registry_);
  std::vector<JobRun> runs;
  int expired = 0;
  scheduler.register_kind(
      "test", {.min_interval = 1ms, .jitter = 0},
      [&](Job&, JobRun run) {
        runs.push_back(run);
        if (runs.size() == 1) run.expire_at(Clock::now() + 10ms);  // and never ends by itself
      },
      [&](const Job& j) {
        EXPECT_EQ(j.subject, "a");
        ++expired;
      });
  scheduler.schedule(job("a"), Clock::now());
  run_until([&] { return runs.size() == 2; });
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(expired, 1);
  EXPECT_EQ(scheduler.running(), 1u);   // the second run
  runs[0].finish(JobStep::poll_later);  // too late: ignored
  EXPECT_EQ(scheduler.size(), 1u);
  EXPECT_EQ(scheduler.running(), 1u);
  // Its late answer ended the work (a poll that overran its deadline): the
  // run going on is the job's last, whatever it decides.
  runs[0].finish(JobStep::finished);
  EXPECT_EQ(scheduler.size(), 1u);
  runs[1].finish(JobStep::poll_later);
  EXPECT_EQ(scheduler.size(), 0u);
  run_until([] { return false; }, 30ms);
  EXPECT_EQ(runs.size(), 2u);
  EXPECT_EQ(expired, 1);
}

TEST_F(JobSchedulerTest, ALateFinishDropsTheJobWaitingForItsNextRun) {
  JobScheduler scheduler(io_, {}, registry_);
  std::vector<JobRun> runs;
  int expired = 0;
  scheduler.register_kind(
      "test", {.min_interval = 1h, .max_interval = 1h},
      [&](Job&, JobRun run) {
        runs.push_back(run);
        run.expire_at(Clock::now() + 5ms);
      },
      [&](const Job&) { ++expired; });
  scheduler.schedule(job("a"), Clock::now());
  run_until([&] { return expired == 1; });
  ASSERT_EQ(expired, 1);
  EXPECT_EQ(scheduler.size(), 1u);  // waiting an hour for its retry
  EXPECT_EQ(scheduler.running(), 0u);
  runs[0].finish(JobStep::finished);
  EXPECT_EQ(scheduler.size(), 0u);
  runs[0].finish(JobStep::finished);  // once more: nothing left to end
  EXPECT_EQ(scheduler.size(), 0u);
}

TEST_F(JobSchedulerTest, AReleasedRunIsNoLongerBounded) {
  JobScheduler scheduler(io_, {}, registry_);
  int expired = 0;
  int runs = 0;
  scheduler.register_kind(
      "test", {.min_interval = 1ms},
      [&](Job&, JobRun run) {
        ++runs;
        run.expire_at(Clock::now() + 5ms);
        run.release();
        run.expire_at(Clock::now() + 5ms);  // ignored once released
        after(io_, 20ms, [run] { run.finish(JobStep::finished); });
      },
      [&](const Job&) { ++expired; });
  scheduler.schedule(job("a"), Clock::now());
  run_until([&] { return scheduler.size() == 0; });
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(expired, 0);
}

TEST_F(JobSchedulerTest, AReleasedRunGivesItsSlotToTheNextJobButIsNotRunAgainBeforeItEnds) {
  // One slot. Job "a" releases it while it awaits something slow (a commit):
  // "b" runs meanwhile; "a", woken, runs again only once its run ended.
  JobScheduler scheduler(io_, {.max_running = 1}, registry_);
  std::vector<std::string> order;
  std::optional<JobRun> awaiting;
  scheduler.register_kind("test", {.min_interval = 1h, .max_interval = 1h},
                          [&](Job& j, JobRun run) {
                            order.push_back(j.subject);
                            if (j.subject == "a" && j.attempts == 0) {
                              run.release();
                              awaiting = run;
                              return;
                            }
                            run.finish(JobStep::finished);
                          });
  scheduler.schedule(job("a"), Clock::now());
  scheduler.schedule(job("b"), Clock::now());
  run_until([&] { return order.size() == 2; });
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(scheduler.running(), 0u);  // "a" holds no slot
  EXPECT_EQ(scheduler.size(), 1u);     // but is still known
  scheduler.wake("test", "a");         // running: not started twice
  run_until([] { return false; }, 20ms);
  EXPECT_EQ(order.size(), 2u);
  ASSERT_TRUE(awaiting);
  awaiting->release();  // twice: ignored, the slot count stays right
  awaiting->finish(JobStep::poll_later);
  run_until([&] { return order.size() == 3; });
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "a"}));
  EXPECT_EQ(scheduler.size(), 0u);
  EXPECT_EQ(scheduler.running(), 0u);
}

TEST_F(JobSchedulerTest, RunsThatEndAtOnceDoNotNestOnTheStack) {
  // Each run ends inside its handler, freeing the only slot for the next:
  // a recursive dispatch would nest 20,000 deep.
  JobScheduler scheduler(io_, {.max_running = 1}, registry_);
  int runs = 0;
  scheduler.register_kind("test", {}, [&](Job&, JobRun run) {
    ++runs;
    run.finish(JobStep::finished);
  });
  const auto due = Clock::now() + 5ms;  // all due at once, on the timer
  for (int i = 0; i < 20'000; ++i) scheduler.schedule(job(std::to_string(i)), due);
  run_until([&] { return scheduler.size() == 0; });
  EXPECT_EQ(runs, 20'000);
}

TEST_F(JobSchedulerTest, ALaneRunsItsJobsOneAtATimeInTheOrderTheyCameDue) {
  JobScheduler scheduler(io_, {.max_running = 8}, registry_);
  std::vector<std::string> order;
  std::map<std::string, int> running, peak;
  int peak_total = 0, total = 0;
  scheduler.register_kind("test", {.min_interval = 1h}, [&](Job& j, JobRun run) {
    order.push_back(j.subject);
    const std::string lane = "agent-" + j.subject.substr(0, 1);
    peak[lane] = std::max(peak[lane], ++running[lane]);
    peak_total = std::max(peak_total, ++total);
    after(io_, 5ms, [&, run, lane] {
      --running[lane];
      --total;
      run.finish(JobStep::finished);
    });
  });
  const auto now = Clock::now();
  for (int i = 0; i < 4; ++i) {
    scheduler.schedule(job("a" + std::to_string(i)), now + std::chrono::microseconds(i), "agent-a");
    scheduler.schedule(job("b" + std::to_string(i)), now + std::chrono::microseconds(i), "agent-b");
  }
  run_until([&] { return scheduler.size() == 0; });
  ASSERT_EQ(order.size(), 8u);
  EXPECT_EQ(peak["agent-a"], 1);
  EXPECT_EQ(peak["agent-b"], 1);
  EXPECT_EQ(peak_total, 2);  // the two lanes ran side by side
  std::vector<std::string> lane_a;
  std::copy_if(order.begin(), order.end(), std::back_inserter(lane_a),
               [](const std::string& subject) { return subject[0] == 'a'; });
  EXPECT_EQ(lane_a, (std::vector<std::string>{"a0", "a1", "a2", "a3"}));
}

TEST_F(JobSchedulerTest, AJobHeldInALaneGoesBeforeOneThatCameDueAfterIt) {
  // "third" comes due while "second" waits for the lane, and both are picked
  // up in the same pass, right after "first" ends: "second" goes first.
  JobScheduler scheduler(io_, {.max_running = 8}, registry_);
  record_runs(scheduler, [&](Job& j) {
    if (j.subject != "trigger") return;
    // Inside the scheduler's pass: both wait for its next round.
    scheduler.schedule(job("third"), Clock::now(), "agent");
    first_->finish(JobStep::finished);
  });
  scheduler.schedule(job("first"), Clock::now(), "agent");
  scheduler.schedule(job("second"), Clock::now(), "agent");
  run_until([&] { return order_.size() == 1; });
  scheduler.schedule(job("trigger"), Clock::now());
  run_until([&] { return scheduler.size() == 0; });
  EXPECT_EQ(order_, (std::vector<std::string>{"first", "trigger", "second", "third"}));
}

TEST_F(JobSchedulerTest, ALaneAllowsTheKindsRunsPerLane) {
  JobScheduler scheduler(io_, {.max_running = 8}, registry_);
  int running = 0, peak = 0;
  scheduler.register_kind("test", {.runs_per_lane = 2}, [&](Job&, JobRun run) {
    peak = std::max(peak, ++running);
    after(io_, 5ms, [&, run] {
      --running;
      run.finish(JobStep::finished);
    });
  });
  for (int i = 0; i < 6; ++i) scheduler.schedule(job(std::to_string(i)), Clock::now(), "storage-1");
  run_until([&] { return scheduler.size() == 0; });
  EXPECT_EQ(scheduler.size(), 0u);
  EXPECT_EQ(peak, 2);
}

TEST_F(JobSchedulerTest, JobsBehindAHeldJobRunMeanwhile) {
  JobScheduler scheduler(io_, {.max_running = 8}, registry_);
  record_runs(scheduler);
  scheduler.schedule(job("first"), Clock::now(), "agent");
  scheduler.schedule(job("second"), Clock::now(), "agent");
  scheduler.schedule(job("free"), Clock::now() + 1ms);
  scheduler.schedule(job("other-lane"), Clock::now() + 2ms, "agent-2");
  run_until([&] { return order_.size() == 3; });
  EXPECT_EQ(order_, (std::vector<std::string>{"first", "free", "other-lane"}));
  ASSERT_TRUE(first_);
  first_->finish(JobStep::finished);
  run_until([&] { return scheduler.size() == 0; });
  EXPECT_EQ(order_, (std::vector<std::string>{"first", "free", "other-lane", "second"}));
}

TEST_F(JobSchedulerTest, ALaneIsHeldUntilTheRunEndsEvenWhenItsSlotIsReleased) {
  JobScheduler scheduler(io_, {.max_running = 8}, registry_);
  std::vector<std::string> order;
  std::optional<JobRun> awaiting;
  scheduler.register_kind("test", {.min_interval = 1h}, [&](Job& j, JobRun run) {
    order.push_back(j.subject);
    if (j.subject == "a") {
      run.release();  // awaits a commit, say: no driver call, but its work
      awaiting = run;
      return;
    }
    run.finish(JobStep::finished);
  });
  scheduler.schedule(job("a"), Clock::now(), "agent");
  scheduler.schedule(job("b"), Clock::now(), "agent");
  run_until([] { return false; }, 20ms);
  EXPECT_EQ(order, (std::vector<std::string>{"a"}));
  EXPECT_EQ(scheduler.running(), 0u);
  ASSERT_TRUE(awaiting);
  awaiting->finish(JobStep::finished);
  run_until([&] { return scheduler.size() == 0; });
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b"}));
}

TEST_F(JobSchedulerTest, AWokenOrCancelledHeldJobKeepsTheLaneRight) {
  JobScheduler scheduler(io_, {.max_running = 8}, registry_);
  record_runs(scheduler);
  scheduler.schedule(job("first"), Clock::now(), "agent");
  scheduler.schedule(job("woken"), Clock::now(), "agent");
  scheduler.schedule(job("cancelled"), Clock::now(), "agent");
  scheduler.schedule(job("last"), Clock::now(), "agent");
  run_until([&] { return order_.size() == 1; });
  scheduler.wake("test", "woken");  // due again, but its lane is busy
  scheduler.cancel("test", "cancelled");
  run_until([] { return false; }, 20ms);
  EXPECT_EQ(order_, (std::vector<std::string>{"first"}));
  ASSERT_TRUE(first_);
  first_->finish(JobStep::finished);
  run_until([&] { return scheduler.size() == 0; });
  EXPECT_EQ(order_, (std::vector<std::string>{"first", "woken", "last"}));
}

TEST_F(JobSchedulerTest, AKindsShareBoundsItsRunsButNotTheOtherKinds) {
  JobScheduler scheduler(io_, {.max_running = 8}, registry_);
  int running_sync = 0, peak_sync = 0, monitored = 0;
  scheduler.register_kind("sync", {.max_running = 2}, [&](Job&, JobRun run) {
    peak_sync = std::max(peak_sync, ++running_sync);
    after(io_, 10ms, [&, run] {
      --running_sync;
      run.finish(JobStep::finished);
    });
  });
  scheduler.register_kind("test", {}, [&](Job&, JobRun run) {
    if (running_sync > 0) ++monitored;  // ran while syncs were held back
    run.finish(JobStep::finished);
  });
  for (int i = 0; i < 8; ++i) {
    Job sync = job("s" + std::to_string(i));
    sync.kind = "sync";
    scheduler.schedule(std::move(sync), Clock::now());
  }
  scheduler.schedule(job("poll-1"), Clock::now() + 1ms);
  scheduler.schedule(job("poll-2"), Clock::now() + 2ms);
  run_until([&] { return scheduler.size() == 0; });
  EXPECT_EQ(scheduler.size(), 0u);
  EXPECT_EQ(peak_sync, 2);
  EXPECT_EQ(monitored, 2);
}

TEST_F(JobSchedulerTest, AShareAndLanesTogetherLeaveNoSlotIdle) {
  // A share of 2 and one run per lane: when the share lets a job through
  // whose lane is busy, the next job the share holds back gets its turn.
  JobScheduler scheduler(io_, {.max_running = 8}, registry_);
  int running = 0, peak = 0;
  std::vector<std::string> order;
  scheduler.register_kind("sync", {.max_running = 2}, [&](Job& j, JobRun run) {
    order.push_back(j.subject);
    peak = std::max(peak, ++running);
    after(io_, 5ms, [&, run] {
      --running;
      run.finish(JobStep::finished);
    });
  });
  const auto now = Clock::now();
  const char* lanes[] = {"x", "x", "x", "y", "z"};
  for (int i = 0; i < 5; ++i) {
    scheduler.schedule(job(std::to_string(i), "sync"), now + std::chrono::microseconds(i),
                       lanes[i]);
  }
  run_until([&] { return scheduler.size() == 0; });
  EXPECT_EQ(scheduler.size(), 0u);
  EXPECT_EQ(order.size(), 5u);
  EXPECT_EQ(peak, 2);
}

TEST_F(JobSchedulerTest, PollAfterChoosesTheNextRunWithoutGrowingTheInterval) {
  JobScheduler scheduler(io_, {}, registry_);
  std::vector<Clock::time_point> runs;
  scheduler.register_kind("test",
                          {.min_interval = 20ms, .max_interval = 10s, .backoff = 20, .jitter = 0},
                          [&](Job&, JobRun run) {
                            runs.push_back(Clock::now());
                            if (runs.size() == 1) return run.poll_after(60ms);
                            run.finish(runs.size() < 3 ? JobStep::poll_later : JobStep::finished);
                          });
  scheduler.schedule(job("a"), Clock::now());
  run_until([&] { return scheduler.size() == 0; });
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_GE(runs[1] - runs[0], 60ms);
  // The first interval (20 ms), not the 400 ms it would have grown to.
  EXPECT_GE(runs[2] - runs[1], 20ms);
  EXPECT_LT(runs[2] - runs[1], 300ms);
}

}  // namespace
}  // namespace flint::jobs
