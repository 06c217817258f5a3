// The conformance suite: the fixture and one TEST_P per rule of the resource
// driver contract. The tests and `conformance_subjects` live in this one
// translation unit on purpose: a test program that instantiates the suite
// references `conformance_subjects`, which pulls this object file (and with it
// the TEST_P registrations) out of the static library.

#include <algorithm>
#include <condition_variable>
#include <iostream>
#include <latch>
#include <stdexcept>
#include <thread>
#include <utility>

#include <flint/sdk/errors.hpp>
#include <flint/sdk/ids.hpp>
#include <flint/sdk/testing/conformance.hpp>

#include "conformance_checks.hpp"

namespace flint::sdk::testing {
namespace {

using Clock = std::chrono::steady_clock;
using detail::attempt;
using detail::describe;
using detail::quoted;
namespace rules = detail::rules;

// Fails the test (fatally) with the message of a failed check.
#define FLINT_CONFORMANCE_REQUIRE(check)                                \
  do {                                                                  \
    if (const ::testing::AssertionResult result_ = (check); !result_) { \
      FAIL() << result_.message();                                      \
    }                                                                   \
  } while (false)

// Milliseconds of a duration, for messages.
long long ms(Clock::duration duration) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(duration).count();
}

// Collects what a driver pushes through ExecuteLifecycleRequest::reporter.
class RecordingReporter final : public ExecutionReporter {
 public:
  void report(LifecycleExecution execution) override {
    std::lock_guard lock(mutex_);
    reports_.push_back(std::move(execution));
    changed_.notify_all();
  }

  // The first terminal report for `request_id`, waiting until `deadline`.
  std::optional<LifecycleExecution> wait_terminal(const std::string& request_id,
                                                  Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    std::optional<LifecycleExecution> found;
    changed_.wait_until(lock, deadline, [&] {
      for (const auto& report : reports_) {
        if (report.request_id == request_id && is_terminal(report.status)) {
          found = report;
          return true;
        }
      }
      return false;
    });
    return found;
  }

  // Every report so far, described for a message.
  std::string describe_all() {
    std::lock_guard lock(mutex_);
    if (reports_.empty()) return "none";
    std::string text;
    for (const auto& report : reports_) {
      text += "\n    " + describe(report);
    }
    return text;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<LifecycleExecution> reports_;
};

}  // namespace

// ---------------------------------------------------------------------------
// The fixture.

ResourceDriverConformance::ResourceDriverConformance() = default;
ResourceDriverConformance::~ResourceDriverConformance() = default;

void ResourceDriverConformance::SetUp() {
  log_ = std::make_shared<TestLog>(subject().echo_driver_logs);
  if (!subject().make_driver) {
    FAIL() << "subject " << quoted(subject().name)
           << " has no make_driver: set ResourceDriverSubject::make_driver";
  }
  if (!subject().make_execute_request) {
    FAIL() << "subject " << quoted(subject().name)
           << " has no make_execute_request: set ResourceDriverSubject::make_execute_request";
  }
  auto made = attempt([&] { return subject().make_driver(); });
  if (made.error) {
    FAIL() << "subject " << quoted(subject().name) << ": make_driver threw "
           << made.error->description;
  }
  if (!*made.value) FAIL() << "subject " << quoted(subject().name) << ": make_driver returned null";
  driver_ = std::move(*made.value);
}

void ResourceDriverConformance::TearDown() {
  if (driver_) {
    drain();
    driver_.reset();
  }
  if (HasFailure() && log_) {
    const std::string lines = log_->text();
    if (!lines.empty()) std::cout << "Driver log lines of this test:\n" << lines << std::flush;
  }
}

// Like the host: every execution is polled to its end, then delivered once.
// Best effort, bounded by terminal_timeout in all; failures were the tests'.
void ResourceDriverConformance::drain() {
  std::vector<Tracked> executions;
  {
    std::lock_guard lock(tracked_mutex_);
    executions = tracked_;
  }
  const auto deadline = Clock::now() + subject().terminal_timeout;
  for (const Tracked& execution : executions) {
    if (execution.delivered) continue;
    bool terminal = false;
    while (!terminal && Clock::now() < deadline) {
      const auto context = make_context();
      const auto poll = attempt([&] {
        return driver_->get_lifecycle_execution(execution.request_id, execution.location, *context);
      });
      if (poll.value) {
        terminal = is_terminal(poll.value->status);
      } else if (!poll.threw(ErrorKind::temporary)) {
        break;
      }
      if (!terminal) std::this_thread::sleep_for(subject().poll_interval);
    }
    const auto context = make_context();
    (void)attempt([&] {
      driver_->on_execution_delivered(execution.request_id, execution.location, *context);
    });
  }
}

std::unique_ptr<TestCallContext> ResourceDriverConformance::make_context() const {
  return std::make_unique<TestCallContext>(subject().call_timeout, log_);
}

ExecuteLifecycleRequest ResourceDriverConformance::make_request() const {
  return subject().make_execute_request();
}

FindReferenceRequest ResourceDriverConformance::make_find_request(
    const std::string& instance_name) const {
  FindReferenceRequest request;
  if (subject().make_find_request) {
    request = subject().make_find_request(instance_name);
  } else {
    ExecuteLifecycleRequest execute = make_request();
    request.driver_files = std::move(execute.driver_files);
    request.deployment_location = std::move(execute.deployment_location);
  }
  request.instance_name = instance_name;
  return request;
}

LifecycleExecuteResponse ResourceDriverConformance::execute(
    const ExecuteLifecycleRequest& request) {
  const auto context = make_context();
  LifecycleExecuteResponse response = driver_->execute_lifecycle(request, *context);
  if (!response.request_id.empty()) track(response.request_id, request.deployment_location);
  return response;
}

::testing::AssertionResult ResourceDriverConformance::poll_until_terminal(
    const std::string& request_id, const DeploymentLocation& location,
    LifecycleExecution& terminal) const {
  const auto start = Clock::now();
  const auto deadline = start + subject().terminal_timeout;
  int polls = 0;
  int temporary_errors = 0;
  std::string last_temporary;
  std::optional<LifecycleExecution> last;
  for (;;) {
    const auto context = make_context();
    auto poll =
        attempt([&] { return driver_->get_lifecycle_execution(request_id, location, *context); });
    ++polls;
    if (poll.threw(ErrorKind::temporary)) {
      ++temporary_errors;
      last_temporary = poll.error->description;
    } else {
      if (auto checked = detail::check_poll(poll, request_id, rules::kPollAnswers); !checked) {
        return checked << "\n  (poll " << polls << ", " << ms(Clock::now() - start)
                       << " ms after the first)";
      }
      if (is_terminal(poll.value->status)) {
        terminal = std::move(*poll.value);
        return ::testing::AssertionSuccess();
      }
      last = std::move(*poll.value);
    }
    const auto now = Clock::now();
    if (now >= deadline) break;
    std::this_thread::sleep_for(std::min<Clock::duration>(subject().poll_interval, deadline - now));
  }
  auto failure = detail::violation(rules::kTerminal)
                 << "request " << quoted(request_id) << " was not terminal after "
                 << ms(Clock::now() - start) << " ms (terminal_timeout "
                 << subject().terminal_timeout.count() << " ms) and " << polls
                 << " polls; the last answer was " << (last ? describe(*last) : "none");
  if (temporary_errors > 0) {
    failure << "; " << temporary_errors << " polls threw TemporaryDriverError, the last "
            << last_temporary;
  }
  return failure;
}

void ResourceDriverConformance::track(const std::string& request_id,
                                      const DeploymentLocation& location) {
  std::lock_guard lock(tracked_mutex_);
  tracked_.push_back({request_id, location, false});
}

void ResourceDriverConformance::mark_delivered(const std::string& request_id) {
  std::lock_guard lock(tracked_mutex_);
  for (Tracked& execution : tracked_) {
    if (execution.request_id == request_id) execution.delivered = true;
  }
}

// ---------------------------------------------------------------------------
// Instantiation support.

void PrintTo(const ResourceDriverSubject& subject, std::ostream* out) {
  *out << "ResourceDriverSubject " << quoted(subject.name);
}

std::vector<ResourceDriverSubject> conformance_subjects(
    const std::function<ResourceDriverSubject()>& make_subject) {
  try {
    return {make_subject()};
  } catch (...) {
    // Every test fails in SetUp, naming the error, instead of the program
    // ending before any test ran.
    ResourceDriverSubject broken;
    broken.name = "broken_subject";
    broken.make_driver = [error = detail::describe_current_exception().description]()
        -> std::unique_ptr<ResourceDriver> {
      throw std::runtime_error("the subject function threw " + error);
    };
    broken.make_execute_request = [] { return ExecuteLifecycleRequest{}; };
    return {broken};
  }
}

std::string conformance_test_name(const ::testing::TestParamInfo<ResourceDriverSubject>& info) {
  std::string name = info.param.name;
  for (char& c : name) {
    const bool keep =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!keep) c = '_';
  }
  return name.empty() ? "driver" : name;
}

// Only programs that instantiate the suite pull this file in; this keeps
// GoogleTest quiet should one link it without instantiating.
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(ResourceDriverConformance);

// ---------------------------------------------------------------------------
// The rules.

// execute.accepts, execute.request-id
TEST_P(ResourceDriverConformance, ExecuteReturnsANonEmptyRequestId) {
  const ExecuteLifecycleRequest request = make_request();
  FLINT_CONFORMANCE_REQUIRE(detail::check_accepted(attempt([&] { return execute(request); })));
}

// execute.distinct-ids
TEST_P(ResourceDriverConformance, TwoExecutionsGetDistinctRequestIds) {
  const ExecuteLifecycleRequest request = make_request();
  const auto first = attempt([&] { return execute(request); });
  FLINT_CONFORMANCE_REQUIRE(detail::check_accepted(first, "the first execute_lifecycle"));
  const auto second = attempt([&] { return execute(request); });
  FLINT_CONFORMANCE_REQUIRE(detail::check_accepted(second, "the second execute_lifecycle"));
  FLINT_CONFORMANCE_REQUIRE(
      detail::check_distinct(first.value->request_id, second.value->request_id));
}

// poll.answers, poll.same-request-id, poll.valid-status, poll.failure-details
TEST_P(ResourceDriverConformance, StatusAnswersForTheRequestIdWithAValidStatus) {
  const ExecuteLifecycleRequest request = make_request();
  const auto accepted = attempt([&] { return execute(request); });
  FLINT_CONFORMANCE_REQUIRE(detail::check_accepted(accepted));
  const std::string& id = accepted.value->request_id;
  // The first answer right after acceptance; a TemporaryDriverError means
  // "ask again later", as the host does.
  const auto deadline = Clock::now() + subject().terminal_timeout;
  for (;;) {
    const auto context = make_context();
    const auto poll = attempt([&] {
      return driver().get_lifecycle_execution(id, request.deployment_location, *context);
    });
    if (!poll.threw(ErrorKind::temporary) || Clock::now() >= deadline) {
      FLINT_CONFORMANCE_REQUIRE(detail::check_poll(poll, id, rules::kPollAnswers));
      break;
    }
    std::this_thread::sleep_for(subject().poll_interval);
  }
}

// poll.terminal (and every poll.* rule on each answer on the way)
TEST_P(ResourceDriverConformance, ReachesATerminalStatusWithinTheTimeBudget) {
  const ExecuteLifecycleRequest request = make_request();
  const auto accepted = attempt([&] { return execute(request); });
  FLINT_CONFORMANCE_REQUIRE(detail::check_accepted(accepted));
  LifecycleExecution terminal;
  FLINT_CONFORMANCE_REQUIRE(
      poll_until_terminal(accepted.value->request_id, request.deployment_location, terminal));
}

// poll.idempotent
TEST_P(ResourceDriverConformance, TerminalStatusIsIdempotent) {
  const ExecuteLifecycleRequest request = make_request();
  const auto accepted = attempt([&] { return execute(request); });
  FLINT_CONFORMANCE_REQUIRE(detail::check_accepted(accepted));
  const std::string& id = accepted.value->request_id;
  LifecycleExecution terminal;
  FLINT_CONFORMANCE_REQUIRE(poll_until_terminal(id, request.deployment_location, terminal));
  for (int read = 1; read <= 3; ++read) {
    std::this_thread::sleep_for(subject().poll_interval);
    const auto context = make_context();
    const auto again = attempt([&] {
      return driver().get_lifecycle_execution(id, request.deployment_location, *context);
    });
    FLINT_CONFORMANCE_REQUIRE(detail::check_poll(again, id, rules::kIdempotent));
    FLINT_CONFORMANCE_REQUIRE(detail::check_same_terminal(terminal, *again.value, read));
  }
}

// poll.unknown-id
TEST_P(ResourceDriverConformance, UnknownRequestIdThrowsRequestNotFound) {
  // One real execution first: an unknown id must not be mistaken for it.
  const ExecuteLifecycleRequest request = make_request();
  FLINT_CONFORMANCE_REQUIRE(detail::check_accepted(attempt([&] { return execute(request); })));
  const std::string unknown =
      subject().unknown_request_id.empty() ? new_time_ordered_id() : subject().unknown_request_id;
  const auto context = make_context();
  const auto poll = attempt([&] {
    return driver().get_lifecycle_execution(unknown, request.deployment_location, *context);
  });
  FLINT_CONFORMANCE_REQUIRE(detail::check_unknown_id(poll, unknown));
}

// execute.unsupported-lifecycle
TEST_P(ResourceDriverConformance, UnsupportedLifecycleNameThrowsInvalidLifecycleName) {
  if (!subject().unsupported_lifecycle_name) {
    GTEST_SKIP() << "subject " << quoted(subject().name)
                 << " names no unsupported lifecycle (ResourceDriverSubject::"
                    "unsupported_lifecycle_name is unset): a driver that accepts every name "
                    "has nothing to refuse";
  }
  ExecuteLifecycleRequest request = make_request();
  request.lifecycle_name = *subject().unsupported_lifecycle_name;
  const auto outcome = attempt([&] { return execute(request); });
  FLINT_CONFORMANCE_REQUIRE(detail::check_unsupported_lifecycle(outcome, request.lifecycle_name));
}

// find.missing
TEST_P(ResourceDriverConformance, FindOfAMissingNameReturnsNoResult) {
  if (!subject().missing_instance_name) {
    GTEST_SKIP() << "subject " << quoted(subject().name)
                 << " names no missing instance (ResourceDriverSubject::missing_instance_name "
                    "is unset)";
  }
  const std::string& name = *subject().missing_instance_name;
  const FindReferenceRequest request = make_find_request(name);
  const auto context = make_context();
  const auto found = attempt([&] { return driver().find_reference(request, *context); });
  FLINT_CONFORMANCE_REQUIRE(detail::check_find_missing(found, name));
}

// find.existing
TEST_P(ResourceDriverConformance, FindOfAnExistingNameReturnsAResult) {
  if (!subject().existing_instance_name) {
    GTEST_SKIP() << "subject " << quoted(subject().name)
                 << " names no existing instance (ResourceDriverSubject::existing_instance_name "
                    "is unset)";
  }
  if (subject().prepare_existing) {
    const auto context = make_context();
    const auto prepared = attempt([&] { subject().prepare_existing(driver(), *context); });
    if (prepared.error) {
      FAIL() << "set-up error, not a contract rule: the subject's prepare_existing threw "
             << prepared.error->description;
    }
  }
  const std::string& name = *subject().existing_instance_name;
  const FindReferenceRequest request = make_find_request(name);
  const auto context = make_context();
  const auto found = attempt([&] { return driver().find_reference(request, *context); });
  FLINT_CONFORMANCE_REQUIRE(detail::check_find_existing(found, name));
}

// concurrency (and every execute.* and poll.* rule under it)
TEST_P(ResourceDriverConformance, ConcurrentExecutionsAndPollsBehave) {
  const int threads = std::max(1, subject().concurrent_threads);
  const int executions = std::max(1, subject().executions_per_thread);
  std::latch start(threads);
  std::mutex mutex;
  std::vector<std::string> problems;  // messages, guarded by mutex
  std::vector<std::string> ids;       // every accepted id, guarded by mutex

  const auto worker = [&](int thread) {
    const auto report = [&](const ::testing::AssertionResult& inner) {
      const auto wrapped = detail::in_concurrency(inner, thread, threads, executions);
      std::lock_guard lock(mutex);
      problems.emplace_back(wrapped.message());
    };
    start.arrive_and_wait();
    std::vector<std::pair<std::string, DeploymentLocation>> mine;
    for (int i = 0; i < executions; ++i) {
      ExecuteLifecycleRequest request;
      try {
        request = make_request();
      } catch (...) {
        std::lock_guard lock(mutex);
        problems.push_back("set-up error, not a contract rule: make_execute_request threw " +
                           detail::describe_current_exception().description);
        return;
      }
      const auto accepted = attempt([&] { return execute(request); });
      if (auto checked = detail::check_accepted(accepted); !checked) {
        report(checked);
        continue;
      }
      const std::string& id = accepted.value->request_id;
      // A poll right away, interleaved with the other threads' executions.
      const auto context = make_context();
      const auto poll = attempt([&] {
        return driver().get_lifecycle_execution(id, request.deployment_location, *context);
      });
      if (!poll.threw(ErrorKind::temporary)) {
        if (auto checked = detail::check_poll(poll, id, rules::kPollAnswers); !checked) {
          report(checked);
        }
      }
      mine.emplace_back(id, request.deployment_location);
    }
    for (const auto& [id, location] : mine) {
      LifecycleExecution terminal;
      if (auto checked = poll_until_terminal(id, location, terminal); !checked) {
        report(checked);
        continue;
      }
      const auto context = make_context();
      const auto again =
          attempt([&] { return driver().get_lifecycle_execution(id, location, *context); });
      if (auto checked = detail::check_poll(again, id, rules::kIdempotent); !checked) {
        report(checked);
      } else if (auto same = detail::check_same_terminal(terminal, *again.value, 1); !same) {
        report(same);
      }
    }
    std::lock_guard lock(mutex);
    for (const auto& entry : mine) ids.push_back(entry.first);
  };

  std::vector<std::thread> workers;
  workers.reserve(static_cast<std::size_t>(threads));
  for (int thread = 0; thread < threads; ++thread) workers.emplace_back(worker, thread);
  for (auto& thread : workers) thread.join();

  constexpr std::size_t kShown = 5;
  for (std::size_t i = 0; i < std::min(problems.size(), kShown); ++i) {
    ADD_FAILURE() << problems[i];
  }
  if (problems.size() > kShown) {
    ADD_FAILURE() << (problems.size() - kShown) << " more problems of the same test left out";
  }
  std::sort(ids.begin(), ids.end());
  if (const auto twin = std::adjacent_find(ids.begin(), ids.end()); twin != ids.end()) {
    ADD_FAILURE() << detail::in_concurrency(detail::check_distinct(*twin, *twin), -1, threads,
                                            executions)
                         .message();
  }
}

// delivered.no-throw, delivered.status-after
TEST_P(ResourceDriverConformance, OnExecutionDeliveredAfterTerminalIsSafe) {
  const ExecuteLifecycleRequest request = make_request();
  const auto accepted = attempt([&] { return execute(request); });
  FLINT_CONFORMANCE_REQUIRE(detail::check_accepted(accepted));
  const std::string& id = accepted.value->request_id;
  LifecycleExecution terminal;
  FLINT_CONFORMANCE_REQUIRE(poll_until_terminal(id, request.deployment_location, terminal));

  mark_delivered(id);
  {
    const auto context = make_context();
    const auto delivered = attempt(
        [&] { driver().on_execution_delivered(id, request.deployment_location, *context); });
    FLINT_CONFORMANCE_REQUIRE(detail::check_delivered(delivered, id));
  }
  const auto context = make_context();
  const auto after = attempt(
      [&] { return driver().get_lifecycle_execution(id, request.deployment_location, *context); });
  FLINT_CONFORMANCE_REQUIRE(detail::check_status_after_delivered(after, terminal));
}

// push.report
TEST_P(ResourceDriverConformance, PushedOutcomeMatchesTheStatusPolls) {
  ExecuteLifecycleRequest request = make_request();
  if (request.reporter) {
    GTEST_SKIP() << "the subject's request carries its own reporter: the suite cannot watch "
                    "what the driver pushes";
  }
  const auto reporter = std::make_shared<RecordingReporter>();
  request.reporter = reporter;
  const auto accepted = attempt([&] { return execute(request); });
  FLINT_CONFORMANCE_REQUIRE(detail::check_accepted(accepted));
  if (!accepted.value->reports_completion) {
    GTEST_SKIP() << "the driver does not push its outcome (reports_completion is false although "
                    "the request offered a reporter): it is polled, which the other rules check";
  }
  const std::string& id = accepted.value->request_id;
  const auto start = Clock::now();
  const auto report = reporter->wait_terminal(id, start + subject().terminal_timeout);
  if (!report) {
    FAIL() << detail::violation(rules::kPushReport).message() << "reports_completion was true, "
           << "but no terminal outcome for request " << quoted(id) << " was reported within "
           << subject().terminal_timeout.count()
           << " ms; reports received: " << reporter->describe_all();
  }
  LifecycleExecution polled;
  FLINT_CONFORMANCE_REQUIRE(poll_until_terminal(id, request.deployment_location, polled));
  FLINT_CONFORMANCE_REQUIRE(detail::check_report(*report, id, polled));
}

}  // namespace flint::sdk::testing
