#pragma once

/// @file
/// The resource driver conformance suite: GoogleTest tests that check any
/// `ResourceDriver` against the behaviours of the resource driver contract
/// (`resource_driver.hpp`, `docs/driver-guide.md`).
///
/// Library `Flint::sdk_testing` (CMake target `flint_sdk_testing`), which
/// links `Flint::sdk` and `GTest::gtest`. A driver's test binary describes its
/// driver once, as a `ResourceDriverSubject`, and instantiates the suite with
/// `FLINT_RESOURCE_DRIVER_CONFORMANCE`:
///
/// ```cpp
/// #include <flint/sdk/testing/conformance.hpp>
///
/// flint::sdk::testing::ResourceDriverSubject acme_subject() {
///   flint::sdk::testing::ResourceDriverSubject subject;
///   subject.name = "acme";
///   subject.make_driver = [] { return std::make_unique<AcmeDriver>(); };
///   subject.make_execute_request = [] {
///     flint::sdk::ExecuteLifecycleRequest request;
///     request.lifecycle_name = "Create";
///     request.driver_files = flint::sdk::DirectoryTree(ACME_TEST_PACKAGE);
///     request.deployment_location = {"lab", "Acme", {}};
///     return request;
///   };
///   subject.unsupported_lifecycle_name = "NoSuchLifecycle";
///   subject.missing_instance_name = "no-such-instance";
///   return subject;
/// }
///
/// FLINT_RESOURCE_DRIVER_CONFORMANCE(Acme, acme_subject);
/// ```
///
/// and links `Flint::sdk_testing` and `GTest::gtest_main` (the library has no
/// `main`). Each rule is one test named
/// `<SuiteName>/ResourceDriverConformance.<Test>/<subject name>`, so
/// `--gtest_filter` selects them as usual.
///
/// The rules checked (each failure message starts with
/// `contract rule [<id>] violated: <rule>` and then says what the driver did:
/// what it returned, or which exception it threw with its message):
///
/// - `execute.accepts`: `execute_lifecycle` accepts the subject's request;
/// - `execute.request-id`: it returns a request id the host can use
///   (`unusable_request_id`);
/// - `execute.distinct-ids`: two executions (concurrent ones too) get
///   distinct ids;
/// - `poll.answers`: `get_lifecycle_execution` answers for an id the driver
///   issued (a `TemporaryDriverError` is retried, as the host does);
/// - `poll.same-request-id`: `get_lifecycle_execution(id)` answers for `id`;
/// - `poll.valid-status`: the status is `IN_PROGRESS`, `COMPLETE` or `FAILED`;
/// - `poll.failure-details`: `FAILED` carries failure details with a valid
///   code, other statuses carry none;
/// - `poll.terminal`: the status becomes terminal within `terminal_timeout`,
///   polled every `poll_interval`;
/// - `poll.idempotent`: once terminal, every read gives the same status,
///   failure details, outputs and topology;
/// - `poll.unknown-id`: an id the driver never issued raises
///   `RequestNotFoundError`;
/// - `execute.unsupported-lifecycle`: an unsupported lifecycle name raises
///   `InvalidLifecycleNameError`;
/// - `find.missing`: finding a name that does not exist returns a response
///   without result, not an error;
/// - `find.existing`: finding an existing name returns a result with a
///   non-empty resource id;
/// - `concurrency`: executions and polls from several threads at once all
///   behave as above;
/// - `delivered.no-throw`: `on_execution_delivered` after a terminal status
///   does not throw;
/// - `delivered.status-after`: a read after delivery still answers the same
///   terminal status, or raises `RequestNotFoundError`;
/// - `push.report`: a driver that sets `reports_completion` reports one
///   terminal outcome for its id through the request's reporter, matching
///   what the polls answer.
///
/// Optional rules are skipped (`GTEST_SKIP`, with the reason) when the subject
/// does not provide what they need: an unsupported lifecycle name, find
/// names, a driver that pushes.
///
/// Thread-safety: GoogleTest runs the tests one after another; the
/// `concurrency` test calls the driver from several threads of its own.
/// Every test makes its own driver instance through
/// `ResourceDriverSubject::make_driver` and destroys it at its end, after
/// driving every execution it started to a terminal status and calling
/// `on_execution_delivered` for it, as the host does.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <flint/sdk/call_context.hpp>
#include <flint/sdk/resource_driver.hpp>

namespace flint::sdk::testing {

/// Log lines a driver wrote through `TestCallContext`s, kept in order.
///
/// Thread-safe: contexts used on different threads may share one log. The
/// conformance fixture keeps one per test and prints it when the test fails.
class TestLog {
 public:
  /// One log line.
  struct Record {
    /// Its severity.
    LogLevel level = LogLevel::info;
    /// Its text, as the driver wrote it.
    std::string message;
    /// Its named values (`LogField`), in the driver's order.
    std::vector<std::pair<std::string, std::string>> fields;
  };

  /// An empty log; with `echo`, every line is also written to stderr as it
  /// arrives (for debugging a driver).
  explicit TestLog(bool echo = false) : echo_(echo) {}

  /// Appends a line.
  void add(LogLevel level, std::string_view message, std::span<const LogField> fields = {});
  /// A copy of every line so far, oldest first.
  std::vector<Record> records() const;
  /// The lines as text, one per line (`[warn] message name=value`), at most
  /// the last `max_lines`.
  std::string text(std::size_t max_lines = 200) const;

 private:
  bool echo_;
  mutable std::mutex mutex_;
  std::vector<Record> records_;
};

/// A `CallContext` for tests: a fixed tenant id and trace context, a deadline
/// set at construction, and log lines kept in a `TestLog`.
///
/// Lifecycle: make one per driver call, as the host does (the deadline is
/// counted from construction). Not thread-safe itself, like any
/// `CallContext`; the `TestLog` it writes to is.
class TestCallContext final : public CallContext {
 public:
  /// The tenant id of every `TestCallContext` unless given.
  static constexpr std::string_view kDefaultTenantId = "flint-conformance";

  /// A context whose deadline is `timeout` from now, writing its log lines
  /// to `log` (dropped when null), with tenant `tenant_id` and the trace
  /// context `{("transactionid", "flint-conformance")}`.
  explicit TestCallContext(std::chrono::milliseconds timeout = std::chrono::seconds(30),
                           std::shared_ptr<TestLog> log = nullptr,
                           std::string tenant_id = std::string(kDefaultTenantId));

  /// Not copyable, nor movable.
  TestCallContext(const TestCallContext&) = delete;
  TestCallContext& operator=(const TestCallContext&) = delete;

  /// The tenant id given at construction.
  std::string_view tenant_id() const noexcept override { return tenant_id_; }
  /// `{("transactionid", "flint-conformance")}`.
  const TraceFields& trace_context() const noexcept override { return trace_; }
  /// Construction time plus the timeout.
  std::chrono::steady_clock::time_point deadline() const noexcept override { return deadline_; }
  /// Appends the line to the `TestLog`, if any.
  void write_log(LogLevel level, std::string_view message,
                 std::span<const LogField> fields) override;

 private:
  std::string tenant_id_;
  TraceFields trace_;
  std::chrono::steady_clock::time_point deadline_;
  std::shared_ptr<TestLog> log_;
};

/// What the conformance suite needs to know about a driver: how to make it,
/// a request it must accept, and the optional facts that enable optional
/// rules.
///
/// A plain value, copied into GoogleTest's parameter registry. The function
/// given to `FLINT_RESOURCE_DRIVER_CONFORMANCE` builds it once, when the test
/// program starts (at `InitGoogleTest`, before any test runs): do expensive
/// or fallible set-up inside the functions below, which run during the tests.
/// The functions are called from the test's thread, except
/// `make_execute_request`, which the `concurrency` test also calls from its
/// worker threads (concurrently).
struct ResourceDriverSubject {
  /// Name of the subject, the last part of each test's name (letters, digits
  /// and `_` are kept, anything else becomes `_`). Default `driver`.
  std::string name = "driver";

  /// Makes a fresh driver instance. Required. Called once per test, in the
  /// test's set-up; the instance is destroyed at the end of the test. An
  /// exception fails the test, naming it.
  std::function<std::unique_ptr<ResourceDriver>()> make_driver;

  /// Builds a valid request that the driver must accept: lifecycle name,
  /// driver files, deployment location, properties. Required. Called for
  /// every execution (several per test). Leave `reporter` null: the suite
  /// sets its own to check push completion (a request that already carries
  /// one skips that rule). The resulting execution may end `COMPLETE` or
  /// `FAILED`; both are conforming.
  std::function<ExecuteLifecycleRequest()> make_execute_request;

  /// A lifecycle name the driver does not support (rule
  /// `execute.unsupported-lifecycle`); the suite sends
  /// `make_execute_request()` with this name. Unset: the rule is skipped
  /// (a driver that accepts every name, as `noop` does).
  std::optional<std::string> unsupported_lifecycle_name;

  /// Builds the find request for `instance_name` (the suite also sets
  /// `instance_name` itself). Unset: the driver files and deployment
  /// location of `make_execute_request()`.
  std::function<FindReferenceRequest(const std::string& instance_name)> make_find_request;

  /// A name `find_reference` must find (rule `find.existing`). Unset: the
  /// rule is skipped.
  std::optional<std::string> existing_instance_name;

  /// Runs on the driver under test before the `find.existing` check, to make
  /// the resource exist (execute a `Create` and wait, say). Optional. An
  /// exception fails the test as a set-up error, not as a contract rule.
  std::function<void(ResourceDriver& driver, CallContext& context)> prepare_existing;

  /// A name `find_reference` must not find (rule `find.missing`). Unset: the
  /// rule is skipped.
  std::optional<std::string> missing_instance_name;

  /// A request id the driver never issued, for rule `poll.unknown-id`.
  /// Empty: a fresh UUID (version 7), the form the host's ids have.
  std::string unknown_request_id;

  /// How long an execution may take to become terminal (rule `poll.terminal`),
  /// polling every `poll_interval`.
  std::chrono::milliseconds terminal_timeout = std::chrono::seconds(30);
  /// Time between two status polls.
  std::chrono::milliseconds poll_interval = std::chrono::milliseconds(20);
  /// Deadline of each call's `TestCallContext`, counted from its start.
  std::chrono::milliseconds call_timeout = std::chrono::seconds(30);

  /// Threads of the `concurrency` test (at least 1).
  int concurrent_threads = 4;
  /// Executions each of those threads starts and polls to a terminal status
  /// (at least 1).
  int executions_per_thread = 3;

  /// Echo every driver log line to stderr as it is written (the lines of a
  /// failed test are printed anyway).
  bool echo_driver_logs = false;
};

/// Prints a subject as GoogleTest shows test parameters: its name.
void PrintTo(const ResourceDriverSubject& subject, std::ostream* out);

/// The test fixture of the suite; every rule is a `TEST_P` of it.
///
/// Instantiate it with `FLINT_RESOURCE_DRIVER_CONFORMANCE`. A driver author
/// may add `TEST_P(ResourceDriverConformance, ...)` tests of their own with
/// the helpers below; they then run for every instantiation.
///
/// Lifecycle: `SetUp` makes the driver (an exception, a null driver or a
/// missing `make_driver`/`make_execute_request` fails the test); `TearDown`
/// polls every execution started through `execute` (or `track`ed) until it is
/// terminal (bounded by `terminal_timeout` in all), calls
/// `on_execution_delivered` for those not yet delivered, destroys the driver,
/// and prints the driver's log lines when the test failed. Helpers marked
/// thread-safe may be called from threads the test starts; the others from
/// the test's thread.
class ResourceDriverConformance : public ::testing::TestWithParam<ResourceDriverSubject> {
 public:
  /// Destroys what `TearDown` left (nothing, normally).
  ~ResourceDriverConformance() override;

 protected:
  /// Made by GoogleTest, once per test.
  ResourceDriverConformance();

  /// Makes the driver with `subject().make_driver`; fails the test when the
  /// subject is incomplete or the factory throws or returns null.
  void SetUp() override;
  /// Drives the test's executions to their end and delivers them, destroys
  /// the driver, and prints its log lines if the test failed.
  void TearDown() override;

  /// The subject under test. Thread-safe.
  const ResourceDriverSubject& subject() const { return GetParam(); }
  /// The driver instance of this test. Thread-safe.
  ResourceDriver& driver() const { return *driver_; }
  /// The log shared by every context of this test. Thread-safe.
  const std::shared_ptr<TestLog>& driver_log() const { return log_; }
  /// A fresh context for one driver call, with the subject's `call_timeout`,
  /// logging to `driver_log()`. Thread-safe.
  std::unique_ptr<TestCallContext> make_context() const;
  /// `subject().make_execute_request()`. Thread-safe if that function is.
  ExecuteLifecycleRequest make_request() const;
  /// The find request for `instance_name` (see
  /// `ResourceDriverSubject::make_find_request`). Thread-safe if the
  /// subject's functions are.
  FindReferenceRequest make_find_request(const std::string& instance_name) const;

  /// Calls `execute_lifecycle` with a fresh context and `track`s the request
  /// id it returns (when non-empty). Throws what the driver throws.
  /// Thread-safe.
  LifecycleExecuteResponse execute(const ExecuteLifecycleRequest& request);

  /// Polls `request_id` (at `location`) every `poll_interval` until its
  /// status is terminal, for at most `terminal_timeout`, checking every
  /// answer (rules `poll.*`); a `TemporaryDriverError` is retried, any other
  /// exception is a violation. On success `terminal` holds the terminal
  /// execution. Makes no GoogleTest assertion: thread-safe.
  ::testing::AssertionResult poll_until_terminal(const std::string& request_id,
                                                 const DeploymentLocation& location,
                                                 LifecycleExecution& terminal) const;

  /// Records `request_id` (polled at `location`) as started by this test,
  /// so that `TearDown` drives it to its end. Thread-safe.
  void track(const std::string& request_id, const DeploymentLocation& location);
  /// Records that `on_execution_delivered` was called for `request_id`, so
  /// that `TearDown` does not call it again (the host calls it at most
  /// once). Thread-safe.
  void mark_delivered(const std::string& request_id);

 private:
  // An execution started by the test, for TearDown.
  struct Tracked {
    std::string request_id;
    DeploymentLocation location;
    bool delivered = false;
  };

  void drain();

  std::shared_ptr<TestLog> log_;
  std::unique_ptr<ResourceDriver> driver_;
  mutable std::mutex tracked_mutex_;
  std::vector<Tracked> tracked_;
};

/// Calls `make_subject` once and returns its subject as the one parameter of
/// an instantiation. An exception from `make_subject` does not abort the
/// program: it becomes a subject whose `make_driver` rethrows it, so every
/// test fails naming it. Used by `FLINT_RESOURCE_DRIVER_CONFORMANCE`.
std::vector<ResourceDriverSubject> conformance_subjects(
    const std::function<ResourceDriverSubject()>& make_subject);

/// The test-name suffix of a subject: its name with every character other
/// than a letter, a digit or `_` replaced by `_` (`driver` when empty). Used
/// by `FLINT_RESOURCE_DRIVER_CONFORMANCE`.
std::string conformance_test_name(const ::testing::TestParamInfo<ResourceDriverSubject>& info);

}  // namespace flint::sdk::testing

/// Instantiates the conformance suite for a driver: `suite_name` is the
/// instantiation's prefix (an identifier, unique in the test program), and
/// `subject_function` names a function `flint::sdk::testing::ResourceDriverSubject()`
/// describing the driver, called once at start-up (a name visible where the
/// macro is used, or a qualified one). Use at namespace scope, once per
/// subject; several subjects (a driver configured two ways, say) need
/// distinct suite names.
///
/// GoogleTest pastes the fixture's name into identifiers, so the macro
/// declares the alias `ResourceDriverConformance` for
/// `flint::sdk::testing::ResourceDriverConformance` in the namespace where it
/// is used.
#define FLINT_RESOURCE_DRIVER_CONFORMANCE(suite_name, subject_function)                   \
  using ResourceDriverConformance = ::flint::sdk::testing::ResourceDriverConformance;     \
  INSTANTIATE_TEST_SUITE_P(                                                               \
      suite_name, ResourceDriverConformance,                                              \
      ::testing::ValuesIn(::flint::sdk::testing::conformance_subjects(subject_function)), \
      ::flint::sdk::testing::conformance_test_name)
