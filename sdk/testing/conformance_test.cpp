// Tests of the conformance suite itself: each check names its rule and what
// the driver did, and the suite passes against a small conforming driver,
// polled and pushing.

#include <map>
#include <mutex>
#include <stdexcept>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <flint/sdk/errors.hpp>
#include <flint/sdk/ids.hpp>
#include <flint/sdk/testing/conformance.hpp>

#include "conformance_checks.hpp"

namespace flint::sdk::testing {
namespace {

using ::testing::HasSubstr;

template <class Call>
std::string message_of(Call call) {
  const ::testing::AssertionResult result = call();
  EXPECT_FALSE(result) << "the check passed";
  return result.message();
}

LifecycleExecuteResponse accepted(std::string id) {
  LifecycleExecuteResponse response;
  response.request_id = std::move(id);
  return response;
}

TEST(ConformanceChecks, ExecuteMustAcceptAndReturnAnId) {
  EXPECT_TRUE(detail::check_accepted(detail::attempt([] { return accepted("r-1"); })));
  const auto empty = message_of(
      [] { return detail::check_accepted(detail::attempt([] { return accepted(""); })); });
  EXPECT_THAT(empty, HasSubstr("contract rule [execute.request-id] violated"));
  EXPECT_THAT(empty, HasSubstr("returned the request id \"\", which the host refuses: it is "
                               "empty"));
  // The host's own rule: such an execute would be answered 500.
  const auto with_slash = message_of([] {
    return detail::check_accepted(detail::attempt([] { return accepted("eu-west/r-1"); }));
  });
  EXPECT_THAT(with_slash, HasSubstr("[execute.request-id]"));
  EXPECT_THAT(with_slash, HasSubstr("\"eu-west/r-1\", which the host refuses: it has a character "
                                    "other than printable ASCII"));
  const auto thrown = message_of([] {
    return detail::check_accepted(detail::attempt([]() -> LifecycleExecuteResponse {
      throw InvalidRequestError("resourceProperties.host: required");
    }));
  });
  EXPECT_THAT(thrown, HasSubstr("[execute.accepts]"));
  EXPECT_THAT(thrown, HasSubstr("flint::sdk::InvalidRequestError (kind invalid_request): "
                                "\"resourceProperties.host: required\""));
  EXPECT_THAT(message_of([] { return detail::check_distinct("a", "a"); }),
              HasSubstr("[execute.distinct-ids] violated"));
}

TEST(ConformanceChecks, ExecutionsAreCheckedForIdStatusAndFailureDetails) {
  EXPECT_TRUE(detail::check_execution(LifecycleExecution::in_progress("r-1"), "r-1"));
  EXPECT_TRUE(detail::check_execution(
      LifecycleExecution::failed("r-1", FailureCode::infrastructure_error, "down"), "r-1"));

  EXPECT_THAT(message_of([] {
                return detail::check_execution(LifecycleExecution::complete("r-2"), "r-1");
              }),
              HasSubstr("[poll.same-request-id] violated: get_lifecycle_execution(id) returns "
                        "the execution of that request id.\n  What the driver did: asked for "
                        "request id \"r-1\", it answered {requestId: \"r-2\", status: COMPLETE"));

  auto invalid = LifecycleExecution::complete("r-1");
  invalid.status = static_cast<ExecutionStatus>(7);
  EXPECT_THAT(message_of([&] { return detail::check_execution(invalid, "r-1"); }),
              HasSubstr("[poll.valid-status] violated"));

  auto no_details = LifecycleExecution::complete("r-1");
  no_details.status = ExecutionStatus::failed;
  EXPECT_THAT(message_of([&] { return detail::check_execution(no_details, "r-1"); }),
              HasSubstr("[poll.failure-details] violated"));

  auto bad_code = LifecycleExecution::failed("r-1", FailureCode::internal_error, "x");
  bad_code.failure_details->code = static_cast<FailureCode>(42);
  EXPECT_THAT(message_of([&] { return detail::check_execution(bad_code, "r-1"); }),
              HasSubstr("invalid failure code"));

  auto details_on_complete = LifecycleExecution::complete("r-1");
  details_on_complete.failure_details = FailureDetails{};
  EXPECT_THAT(message_of([&] { return detail::check_execution(details_on_complete, "r-1"); }),
              HasSubstr("it answered COMPLETE with failure details"));

  const auto thrown = message_of([] {
    return detail::check_poll(
        detail::attempt([]() -> LifecycleExecution { throw std::runtime_error("boom"); }), "r-1",
        detail::rules::kPollAnswers);
  });
  EXPECT_THAT(thrown, HasSubstr("[poll.answers]"));
  EXPECT_THAT(thrown, HasSubstr("get_lifecycle_execution(\"r-1\") threw std::runtime_error: "
                                "\"boom\""));
}

TEST(ConformanceChecks, TerminalReadsMustRepeat) {
  const auto first = LifecycleExecution::complete("r-1", {{"ip", "10.0.0.1"}});
  EXPECT_TRUE(detail::check_same_terminal(first, first, 1));
  const auto other = LifecycleExecution::complete("r-1", {{"ip", "10.0.0.2"}});
  const auto message = message_of([&] { return detail::check_same_terminal(first, other, 2); });
  EXPECT_THAT(message, HasSubstr("[poll.idempotent]"));
  EXPECT_THAT(message, HasSubstr("read 2 after the first terminal answer differs in outputs"));
  EXPECT_THAT(message, HasSubstr("10.0.0.2"));
}

TEST(ConformanceChecks, UnknownIdsAndUnsupportedLifecyclesRaiseTheirErrors) {
  EXPECT_TRUE(detail::check_unknown_id(detail::attempt([]() -> LifecycleExecution {
                                         throw RequestNotFoundError("no such request");
                                       }),
                                       "u-1"));
  EXPECT_THAT(message_of([] {
                return detail::check_unknown_id(
                    detail::attempt([] { return LifecycleExecution::complete("u-1"); }), "u-1");
              }),
              HasSubstr("[poll.unknown-id] violated: get_lifecycle_execution for a request id "
                        "the driver never issued throws RequestNotFoundError.\n  What the driver "
                        "did: get_lifecycle_execution(\"u-1\") returned {requestId: \"u-1\", "
                        "status: COMPLETE"));
  EXPECT_THAT(message_of([] {
                return detail::check_unknown_id(detail::attempt([]() -> LifecycleExecution {
                                                  throw ResourceDriverError("db down");
                                                }),
                                                "u-1");
              }),
              HasSubstr("threw flint::sdk::ResourceDriverError (kind driver): \"db down\" "
                        "instead"));

  EXPECT_TRUE(detail::check_unsupported_lifecycle(detail::attempt([]() -> LifecycleExecuteResponse {
                                                    throw InvalidLifecycleNameError("no Reboot");
                                                  }),
                                                  "Reboot"));
  EXPECT_THAT(message_of([] {
                return detail::check_unsupported_lifecycle(
                    detail::attempt([] { return accepted("r-9"); }), "Reboot");
              }),
              HasSubstr("execute_lifecycle accepted lifecycle \"Reboot\" and returned request id "
                        "\"r-9\""));
}

TEST(ConformanceChecks, FindAnswersAsTheSubjectSays) {
  const auto none = [] { return FindReferenceResponse{}; };
  const auto found = [] { return FindReferenceResponse{FoundReference{"res-1", {}, {}}}; };
  EXPECT_TRUE(detail::check_find_missing(detail::attempt(none), "ghost"));
  EXPECT_TRUE(detail::check_find_existing(detail::attempt(found), "web"));
  EXPECT_THAT(message_of([&] { return detail::check_find_missing(detail::attempt(found), "x"); }),
              HasSubstr("[find.missing] violated"));
  EXPECT_THAT(message_of([&] {
                return detail::check_find_missing(detail::attempt([]() -> FindReferenceResponse {
                                                    throw RequestNotFoundError("not there");
                                                  }),
                                                  "x");
              }),
              HasSubstr("find_reference(\"x\") threw flint::sdk::RequestNotFoundError"));
  EXPECT_THAT(message_of([&] { return detail::check_find_existing(detail::attempt(none), "x"); }),
              HasSubstr("find_reference(\"x\") returned {result: null}"));
  EXPECT_THAT(message_of([&] {
                return detail::check_find_existing(
                    detail::attempt([] { return FindReferenceResponse{FoundReference{}}; }), "x");
              }),
              HasSubstr("[find.existing]"));
}

TEST(ConformanceChecks, DeliveryAndAfterwards) {
  const auto terminal = LifecycleExecution::complete("r-1");
  EXPECT_TRUE(detail::check_delivered(detail::attempt([] {}), "r-1"));
  EXPECT_THAT(message_of([] {
                return detail::check_delivered(
                    detail::attempt([] { throw std::logic_error("twice"); }), "r-1");
              }),
              HasSubstr("[delivered.no-throw]"));
  EXPECT_TRUE(detail::check_status_after_delivered(
      detail::attempt([]() -> LifecycleExecution { throw RequestNotFoundError("gone"); }),
      terminal));
  EXPECT_TRUE(
      detail::check_status_after_delivered(detail::attempt([&] { return terminal; }), terminal));
  EXPECT_THAT(message_of([&] {
                return detail::check_status_after_delivered(
                    detail::attempt([] { return LifecycleExecution::in_progress("r-1"); }),
                    terminal);
              }),
              HasSubstr("[delivered.status-after]"));
}

TEST(ConformanceChecks, ReportsMustMatchPolls) {
  const auto polled = LifecycleExecution::failed("r-1", FailureCode::internal_error, "x");
  EXPECT_TRUE(detail::check_report(polled, "r-1", polled));
  EXPECT_THAT(message_of([&] {
                return detail::check_report(LifecycleExecution::complete("r-1"), "r-1", polled);
              }),
              HasSubstr("the report and the status polls differ in status, failure details"));
  EXPECT_THAT(message_of([&] {
                return detail::check_report(LifecycleExecution::complete("r-2"), "r-1", polled);
              }),
              HasSubstr("[push.report]"));
}

TEST(ConformanceChecks, LongValuesAreCutAndNonStdExceptionsNamed) {
  const std::string long_text(2000, 'x');
  EXPECT_LT(detail::quoted(long_text).size(), 500u);
  EXPECT_THAT(detail::quoted(long_text), HasSubstr("(cut)"));
  EXPECT_EQ(detail::quoted("a\"b\n"), "\"a\\\"b\\n\"");
  const auto odd = detail::attempt([]() -> int { throw 7; });
  EXPECT_EQ(odd.error->description, "an exception that is not a std::exception");
}

TEST(ConformanceSubjects, AThrowingSubjectFunctionFailsEveryTestInsteadOfTheProgram) {
  const auto subjects =
      conformance_subjects([]() -> ResourceDriverSubject { throw std::runtime_error("no db"); });
  ASSERT_EQ(subjects.size(), 1u);
  try {
    subjects[0].make_driver();
    FAIL() << "make_driver did not throw";
  } catch (const std::runtime_error& error) {
    EXPECT_THAT(error.what(),
                HasSubstr("the subject function threw std::runtime_error: \"no db\""));
  }
}

TEST(ConformanceSubjects, NamesBecomeTestNameSuffixes) {
  ResourceDriverSubject subject;
  subject.name = "acme v2.1";
  EXPECT_EQ(conformance_test_name({subject, 0}), "acme_v2_1");
  subject.name.clear();
  EXPECT_EQ(conformance_test_name({subject, 0}), "driver");
  EXPECT_EQ(::testing::PrintToString(subject), "ResourceDriverSubject \"\"");
}

TEST(TestCallContext, CarriesTenantTraceDeadlineAndLogs) {
  const auto log = std::make_shared<TestLog>();
  const auto before = std::chrono::steady_clock::now();
  TestCallContext context(std::chrono::seconds(5), log);
  EXPECT_EQ(context.tenant_id(), TestCallContext::kDefaultTenantId);
  ASSERT_EQ(context.trace_context().size(), 1u);
  EXPECT_EQ(context.trace_context()[0].first, "transactionid");
  EXPECT_GE(context.deadline(), before + std::chrono::seconds(5));
  EXPECT_FALSE(context.deadline_passed());
  context.warn("careful");
  context.info("done");
  ASSERT_EQ(log->records().size(), 2u);
  EXPECT_EQ(log->records()[0].level, LogLevel::warn);
  EXPECT_EQ(log->text(), "[warn] careful\n[info] done\n");
  EXPECT_EQ(log->text(1), "(1 earlier lines left out)\n[info] done\n");
  TestCallContext expired(std::chrono::milliseconds(-1));
  EXPECT_TRUE(expired.deadline_passed());
  expired.error("dropped: no log");  // no log attached: nothing to check but no crash
}

// A small conforming driver: every execution is IN_PROGRESS for one poll,
// then COMPLETE (or FAILED for lifecycle "Break"); it pushes the outcome when
// the request offers a reporter.
class ReferenceDriver final : public ResourceDriver {
 public:
  LifecycleExecuteResponse execute_lifecycle(const ExecuteLifecycleRequest& request,
                                             CallContext& context) override {
    if (request.lifecycle_name != "Create" && request.lifecycle_name != "Break") {
      throw InvalidLifecycleNameError("unsupported lifecycle \"" + request.lifecycle_name + "\"");
    }
    LifecycleExecuteResponse response;
    response.request_id = new_time_ordered_id();
    const LifecycleExecution outcome =
        request.lifecycle_name == "Break"
            ? LifecycleExecution::failed(response.request_id, FailureCode::infrastructure_error,
                                         "broken on purpose", {{"step", 2}})
            : LifecycleExecution::complete(response.request_id, {{"ip", "10.0.0.7"}});
    {
      std::lock_guard lock(mutex_);
      executions_[response.request_id] = {outcome, 0};
    }
    if (request.reporter) {
      response.reports_completion = true;
      request.reporter->report(outcome);
    }
    context.info("accepted " + response.request_id);
    return response;
  }

  LifecycleExecution get_lifecycle_execution(std::string_view request_id,
                                             const DeploymentLocation& /*location*/,
                                             CallContext& /*context*/) override {
    std::lock_guard lock(mutex_);
    const auto it = executions_.find(std::string(request_id));
    if (it == executions_.end()) {
      throw RequestNotFoundError("request \"" + std::string(request_id) + "\" not found");
    }
    if (it->second.polls++ == 0) return LifecycleExecution::in_progress(std::string(request_id));
    return it->second.outcome;
  }

  FindReferenceResponse find_reference(const FindReferenceRequest& request,
                                       CallContext& /*context*/) override {
    FindReferenceResponse response;
    if (request.instance_name == "web-1") response.result = FoundReference{"res-web-1", {}, {}};
    return response;
  }

  void on_execution_delivered(std::string_view request_id, const DeploymentLocation& /*location*/,
                              CallContext& /*context*/) override {
    std::lock_guard lock(mutex_);
    executions_.erase(std::string(request_id));
  }

 private:
  struct Entry {
    LifecycleExecution outcome;
    int polls = 0;
  };
  std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> executions_;
};

ResourceDriverSubject reference_subject(std::string lifecycle) {
  ResourceDriverSubject subject;
  subject.name = "reference_" + lifecycle;
  subject.make_driver = [] { return std::make_unique<ReferenceDriver>(); };
  subject.make_execute_request = [lifecycle] {
    ExecuteLifecycleRequest request;
    request.lifecycle_name = lifecycle;
    request.deployment_location = {"lab", "Test", {}};
    return request;
  };
  subject.unsupported_lifecycle_name = "Reboot";
  subject.existing_instance_name = "web-1";
  subject.missing_instance_name = "web-2";
  subject.terminal_timeout = std::chrono::seconds(5);
  subject.poll_interval = std::chrono::milliseconds(1);
  return subject;
}

ResourceDriverSubject completing_subject() {
  return reference_subject("Create");
}
ResourceDriverSubject failing_subject() {
  return reference_subject("Break");
}

FLINT_RESOURCE_DRIVER_CONFORMANCE(Completing, completing_subject);
FLINT_RESOURCE_DRIVER_CONFORMANCE(Failing, failing_subject);

}  // namespace
}  // namespace flint::sdk::testing
