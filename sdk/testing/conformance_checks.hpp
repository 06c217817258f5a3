#pragma once

// The checks behind the conformance suite, one function per contract rule.
// Private to flint_sdk_testing (not installed): the suite's TEST_Ps call them,
// and conformance_test.cpp feeds them misbehaviours to check the messages.
//
// Every check returns a ::testing::AssertionResult and makes no GoogleTest
// assertion itself, so it may run on any thread (the concurrency test runs
// them on workers and reports in the test's thread). A failure message
// starts with `contract rule [<id>] violated: <rule>` and then says what the
// driver did.

#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include <gtest/gtest.h>

#include <flint/sdk/errors.hpp>
#include <flint/sdk/lifecycle.hpp>

namespace flint::sdk::testing::detail {

/// One rule of the contract, as the suite names it.
struct Rule {
  std::string_view id;
  std::string_view text;
};

namespace rules {
inline constexpr Rule kExecuteAccepts{"execute.accepts",
                                      "execute_lifecycle accepts the subject's valid request"};
inline constexpr Rule kExecuteRequestId{
    "execute.request-id",
    "execute_lifecycle returns a request id the host can use: 1 to 256 bytes of printable ASCII "
    "without space, /, ?, #, %, \" or \\"};
inline constexpr Rule kDistinctIds{"execute.distinct-ids",
                                   "every execution gets a request id of its own"};
inline constexpr Rule kPollAnswers{
    "poll.answers",
    "get_lifecycle_execution answers for a request id the driver issued (TemporaryDriverError "
    "aside, which is retried)"};
inline constexpr Rule kSameRequestId{
    "poll.same-request-id", "get_lifecycle_execution(id) returns the execution of that request id"};
inline constexpr Rule kValidStatus{"poll.valid-status",
                                   "the status is IN_PROGRESS, COMPLETE or FAILED"};
inline constexpr Rule kFailureDetails{
    "poll.failure-details",
    "a FAILED execution carries failure details with a valid failure code, and only a FAILED "
    "one does"};
inline constexpr Rule kTerminal{
    "poll.terminal",
    "an execution reaches COMPLETE or FAILED within the subject's terminal_timeout"};
inline constexpr Rule kIdempotent{
    "poll.idempotent",
    "once terminal, every read answers the same status, failure details, outputs and topology"};
inline constexpr Rule kUnknownId{
    "poll.unknown-id",
    "get_lifecycle_execution for a request id the driver never issued throws "
    "RequestNotFoundError"};
inline constexpr Rule kUnsupportedLifecycle{
    "execute.unsupported-lifecycle",
    "execute_lifecycle with an unsupported lifecycle name throws InvalidLifecycleNameError"};
inline constexpr Rule kFindMissing{
    "find.missing",
    "find_reference for a name that does not exist returns a response without result (not "
    "an error)"};
inline constexpr Rule kFindExisting{
    "find.existing",
    "find_reference for an existing name returns a result with a non-empty resource id"};
inline constexpr Rule kConcurrency{
    "concurrency", "calls from several threads at once behave as calls one after another"};
inline constexpr Rule kDeliveredNoThrow{
    "delivered.no-throw", "on_execution_delivered after a terminal status does not throw"};
inline constexpr Rule kStatusAfterDelivered{
    "delivered.status-after",
    "after on_execution_delivered, a status read answers the same terminal status or throws "
    "RequestNotFoundError"};
inline constexpr Rule kPushReport{
    "push.report",
    "a driver that sets reports_completion reports one terminal outcome for its request id "
    "through the request's reporter, matching what status polls answer"};
}  // namespace rules

/// A failed AssertionResult that starts with the rule; stream what the driver
/// did after it.
::testing::AssertionResult violation(const Rule& rule);

/// An exception a driver call threw, described for a message.
struct CaughtError {
  /// `RequestNotFoundError (request_not_found): <what>`, `std::runtime_error:
  /// <what>`, `an exception that is not a std::exception`.
  std::string description;
  /// The kind, for a DriverError.
  std::optional<ErrorKind> kind;
};

/// Describes the exception being handled; call only inside a `catch` block.
CaughtError describe_current_exception();

/// What one driver call did: a value, or the exception it threw.
template <class T>
struct Attempt {
  std::optional<T> value;
  std::optional<CaughtError> error;

  /// True when the call threw a DriverError of `kind`.
  bool threw(ErrorKind kind) const { return error && error->kind == kind; }
};

/// Runs `call`, catching whatever it throws. A `void` call gives an
/// `Attempt<std::monostate>`.
template <class Call>
auto attempt(Call&& call) {
  using Result = std::invoke_result_t<Call&>;
  using Value = std::conditional_t<std::is_void_v<Result>, std::monostate, Result>;
  Attempt<Value> outcome;
  try {
    if constexpr (std::is_void_v<Result>) {
      call();
      outcome.value.emplace();
    } else {
      outcome.value.emplace(call());
    }
  } catch (...) {
    outcome.error = describe_current_exception();
  }
  return outcome;
}

/// `IN_PROGRESS`, `COMPLETE`, `FAILED`, or `<invalid ExecutionStatus N>`.
std::string describe(ExecutionStatus status);
/// An execution on one line: request id, status, failure details, outputs and
/// topology (long values shortened).
std::string describe(const LifecycleExecution& execution);
/// A find response on one line.
std::string describe(const FindReferenceResponse& response);
/// A string quoted for a message, shortened when long.
std::string quoted(std::string_view text);

/// True for the three declared statuses.
bool is_valid(ExecutionStatus status) noexcept;
/// True for the declared failure codes.
bool is_valid(FailureCode code) noexcept;

/// execute.accepts and execute.request-id: the call returned a response with
/// a non-empty request id. `what` names the call for the message (`the first
/// execution`...).
::testing::AssertionResult check_accepted(const Attempt<LifecycleExecuteResponse>& outcome,
                                          std::string_view what = "execute_lifecycle");

/// execute.distinct-ids for two ids.
::testing::AssertionResult check_distinct(const std::string& first, const std::string& second);

/// poll.same-request-id, poll.valid-status and poll.failure-details for an
/// execution answered for `asked_id`.
::testing::AssertionResult check_execution(const LifecycleExecution& execution,
                                           std::string_view asked_id);

/// A status poll's outcome as above; an exception fails with `rule`
/// (`poll.answers`, say), except where the caller handles it.
::testing::AssertionResult check_poll(const Attempt<LifecycleExecution>& outcome,
                                      std::string_view asked_id, const Rule& rule);

/// poll.idempotent: `later` (the `read`-th read after the first terminal
/// answer) answers as `first`.
::testing::AssertionResult check_same_terminal(const LifecycleExecution& first,
                                               const LifecycleExecution& later, int read);

/// poll.unknown-id: the poll for `id` threw RequestNotFoundError.
::testing::AssertionResult check_unknown_id(const Attempt<LifecycleExecution>& outcome,
                                            std::string_view id);

/// execute.unsupported-lifecycle: executing `name` threw
/// InvalidLifecycleNameError.
::testing::AssertionResult check_unsupported_lifecycle(
    const Attempt<LifecycleExecuteResponse>& outcome, std::string_view name);

/// find.missing: finding `name` returned no result and did not throw.
::testing::AssertionResult check_find_missing(const Attempt<FindReferenceResponse>& outcome,
                                              std::string_view name);

/// find.existing: finding `name` returned a result with a non-empty id.
::testing::AssertionResult check_find_existing(const Attempt<FindReferenceResponse>& outcome,
                                               std::string_view name);

/// delivered.no-throw for `id`.
::testing::AssertionResult check_delivered(const Attempt<std::monostate>& outcome,
                                           std::string_view id);

/// delivered.status-after: the read after delivery answered `terminal`'s
/// status for its id, or threw RequestNotFoundError.
::testing::AssertionResult check_status_after_delivered(const Attempt<LifecycleExecution>& outcome,
                                                        const LifecycleExecution& terminal);

/// concurrency: wraps what thread `thread` (of `threads`, each starting
/// `executions` executions) saw; a negative `thread` means across threads.
::testing::AssertionResult in_concurrency(const ::testing::AssertionResult& inner, int thread,
                                          int threads, int executions);

/// push.report: `report` (the first terminal report for `id`) is terminal,
/// well formed and answers as the terminal status `polled`.
::testing::AssertionResult check_report(const LifecycleExecution& report, std::string_view id,
                                        const LifecycleExecution& polled);

}  // namespace flint::sdk::testing::detail
