#include "conformance_checks.hpp"

#include <cstdlib>
#include <memory>
#include <sstream>
#include <typeinfo>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <cxxabi.h>

#include <flint/sdk/ids.hpp>
#include <flint/sdk/json.hpp>

namespace flint::sdk::testing::detail {
namespace {

// Long values (outputs, messages) are cut to keep a failure readable.
constexpr std::size_t kMaxValueLength = 400;

std::string shortened(std::string text) {
  if (text.size() <= kMaxValueLength) return text;
  text.resize(kMaxValueLength);
  text += "...(cut)";
  return text;
}

std::string demangled(const char* name) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> readable(
      abi::__cxa_demangle(name, nullptr, nullptr, &status), std::free);
  return status == 0 && readable ? std::string(readable.get()) : std::string(name);
}

std::string json_text(const boost::json::object& object) {
  return shortened(boost::json::serialize(object));
}

std::string describe(const std::optional<FailureDetails>& details) {
  if (!details) return "none";
  std::ostringstream out;
  out << "{code: ";
  if (is_valid(details->code)) {
    out << to_string(details->code);
  } else {
    out << "<invalid FailureCode " << static_cast<int>(details->code) << ">";
  }
  out << ", description: " << quoted(details->description) << "}";
  return out.str();
}

// Which parts of two executions differ, for a message: "status, outputs".
std::string differences(const LifecycleExecution& a, const LifecycleExecution& b) {
  std::string parts;
  const auto add = [&](std::string_view part) {
    if (!parts.empty()) parts += ", ";
    parts += part;
  };
  if (a.request_id != b.request_id) add("request id");
  if (a.status != b.status) add("status");
  if (a.failure_details != b.failure_details) add("failure details");
  if (a.outputs != b.outputs) add("outputs");
  if (a.associated_topology != b.associated_topology) add("associated topology");
  return parts;
}

// Status, failure details, outputs and topology (not the request id).
bool same_answer(const LifecycleExecution& a, const LifecycleExecution& b) {
  return a.status == b.status && a.failure_details == b.failure_details && a.outputs == b.outputs &&
         a.associated_topology == b.associated_topology;
}

}  // namespace

::testing::AssertionResult violation(const Rule& rule) {
  return ::testing::AssertionFailure()
         << "contract rule [" << rule.id << "] violated: " << rule.text
         << ".\n  What the driver did: ";
}

CaughtError describe_current_exception() {
  try {
    throw;
  } catch (const DriverError& error) {
    return {demangled(typeid(error).name()) + " (kind " + std::string(to_string(error.kind())) +
                "): " + quoted(error.what()),
            error.kind()};
  } catch (const std::exception& error) {
    return {demangled(typeid(error).name()) + ": " + quoted(error.what()), std::nullopt};
  } catch (...) {
    return {"an exception that is not a std::exception", std::nullopt};
  }
}

std::string quoted(std::string_view text) {
  return shortened(boost::json::serialize(boost::json::string(text)));
}

bool is_valid(ExecutionStatus status) noexcept {
  switch (status) {
    case ExecutionStatus::in_progress:
    case ExecutionStatus::complete:
    case ExecutionStatus::failed:
      return true;
  }
  return false;
}

bool is_valid(FailureCode code) noexcept {
  switch (code) {
    case FailureCode::resource_not_found:
    case FailureCode::infrastructure_error:
    case FailureCode::insufficient_capacity:
    case FailureCode::internal_error:
    case FailureCode::resource_already_exists:
      return true;
  }
  return false;
}

std::string describe(ExecutionStatus status) {
  if (is_valid(status)) return std::string(to_string(status));
  return "<invalid ExecutionStatus " + std::to_string(static_cast<int>(status)) + ">";
}

std::string describe(const LifecycleExecution& execution) {
  std::ostringstream out;
  out << "{requestId: " << quoted(execution.request_id)
      << ", status: " << describe(execution.status)
      << ", failureDetails: " << describe(execution.failure_details)
      << ", outputs: " << json_text(execution.outputs)
      << ", associatedTopology: " << json_text(json::encode(execution.associated_topology)) << "}";
  return out.str();
}

std::string describe(const FindReferenceResponse& response) {
  if (!response.result) return "{result: null}";
  const FoundReference& found = *response.result;
  std::ostringstream out;
  out << "{result: {resourceId: " << quoted(found.resource_id)
      << ", outputs: " << json_text(found.outputs)
      << ", associatedTopology: " << json_text(json::encode(found.associated_topology)) << "}}";
  return out.str();
}

::testing::AssertionResult check_accepted(const Attempt<LifecycleExecuteResponse>& outcome,
                                          std::string_view what) {
  if (outcome.error) {
    return violation(rules::kExecuteAccepts) << what << " threw " << outcome.error->description;
  }
  if (const std::string problem = unusable_request_id(outcome.value->request_id);
      !problem.empty()) {
    return violation(rules::kExecuteRequestId)
           << what << " returned the request id " << quoted(outcome.value->request_id)
           << ", which the host refuses: " << problem;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult check_distinct(const std::string& first, const std::string& second) {
  if (first == second) {
    return violation(rules::kDistinctIds) << "two executions both got request id " << quoted(first);
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult check_execution(const LifecycleExecution& execution,
                                           std::string_view asked_id) {
  if (execution.request_id != asked_id) {
    return violation(rules::kSameRequestId) << "asked for request id " << quoted(asked_id)
                                            << ", it answered " << describe(execution);
  }
  if (!is_valid(execution.status)) {
    return violation(rules::kValidStatus) << "it answered " << describe(execution);
  }
  if (execution.status == ExecutionStatus::failed) {
    if (!execution.failure_details) {
      return violation(rules::kFailureDetails)
             << "it answered FAILED without failure details: " << describe(execution);
    }
    if (!is_valid(execution.failure_details->code)) {
      return violation(rules::kFailureDetails)
             << "it answered FAILED with an invalid failure code: " << describe(execution);
    }
  } else if (execution.failure_details) {
    return violation(rules::kFailureDetails) << "it answered " << describe(execution.status)
                                             << " with failure details: " << describe(execution);
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult check_poll(const Attempt<LifecycleExecution>& outcome,
                                      std::string_view asked_id, const Rule& rule) {
  if (outcome.error) {
    return violation(rule) << "get_lifecycle_execution(" << quoted(asked_id) << ") threw "
                           << outcome.error->description;
  }
  return check_execution(*outcome.value, asked_id);
}

::testing::AssertionResult check_same_terminal(const LifecycleExecution& first,
                                               const LifecycleExecution& later, int read) {
  if (same_answer(first, later)) return ::testing::AssertionSuccess();
  return violation(rules::kIdempotent)
         << "read " << read << " after the first terminal answer differs in "
         << differences(first, later) << ": first " << describe(first) << ", then "
         << describe(later);
}

::testing::AssertionResult check_unknown_id(const Attempt<LifecycleExecution>& outcome,
                                            std::string_view id) {
  if (outcome.threw(ErrorKind::request_not_found)) return ::testing::AssertionSuccess();
  if (outcome.error) {
    return violation(rules::kUnknownId) << "get_lifecycle_execution(" << quoted(id) << ") threw "
                                        << outcome.error->description << " instead";
  }
  return violation(rules::kUnknownId)
         << "get_lifecycle_execution(" << quoted(id) << ") returned " << describe(*outcome.value);
}

::testing::AssertionResult check_unsupported_lifecycle(
    const Attempt<LifecycleExecuteResponse>& outcome, std::string_view name) {
  if (outcome.threw(ErrorKind::invalid_lifecycle_name)) return ::testing::AssertionSuccess();
  if (outcome.error) {
    return violation(rules::kUnsupportedLifecycle)
           << "execute_lifecycle with lifecycle " << quoted(name) << " threw "
           << outcome.error->description << " instead";
  }
  return violation(rules::kUnsupportedLifecycle)
         << "execute_lifecycle accepted lifecycle " << quoted(name) << " and returned request id "
         << quoted(outcome.value->request_id);
}

::testing::AssertionResult check_find_missing(const Attempt<FindReferenceResponse>& outcome,
                                              std::string_view name) {
  if (outcome.error) {
    return violation(rules::kFindMissing)
           << "find_reference(" << quoted(name) << ") threw " << outcome.error->description;
  }
  if (outcome.value->result) {
    return violation(rules::kFindMissing)
           << "find_reference(" << quoted(name) << ") returned " << describe(*outcome.value);
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult check_find_existing(const Attempt<FindReferenceResponse>& outcome,
                                               std::string_view name) {
  if (outcome.error) {
    return violation(rules::kFindExisting)
           << "find_reference(" << quoted(name) << ") threw " << outcome.error->description;
  }
  if (!outcome.value->result || outcome.value->result->resource_id.empty()) {
    return violation(rules::kFindExisting)
           << "find_reference(" << quoted(name) << ") returned " << describe(*outcome.value);
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult check_delivered(const Attempt<std::monostate>& outcome,
                                           std::string_view id) {
  if (outcome.error) {
    return violation(rules::kDeliveredNoThrow)
           << "on_execution_delivered(" << quoted(id) << ") threw " << outcome.error->description;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult check_status_after_delivered(const Attempt<LifecycleExecution>& outcome,
                                                        const LifecycleExecution& terminal) {
  if (outcome.threw(ErrorKind::request_not_found)) return ::testing::AssertionSuccess();
  if (outcome.error) {
    return violation(rules::kStatusAfterDelivered)
           << "get_lifecycle_execution(" << quoted(terminal.request_id) << ") after delivery threw "
           << outcome.error->description;
  }
  if (auto shape = check_execution(*outcome.value, terminal.request_id); !shape) return shape;
  if (outcome.value->status != terminal.status) {
    return violation(rules::kStatusAfterDelivered)
           << "after delivery it answered " << describe(*outcome.value) << ", before it "
           << describe(terminal);
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult in_concurrency(const ::testing::AssertionResult& inner, int thread,
                                          int threads, int executions) {
  auto result = violation(rules::kConcurrency)
                << "with " << threads << " threads each starting " << executions
                << " executions and polling them at once, ";
  if (thread < 0) {
    result << "across the threads:\n  ";
  } else {
    result << "thread " << thread << " saw:\n  ";
  }
  return result << inner.message();
}

::testing::AssertionResult check_report(const LifecycleExecution& report, std::string_view id,
                                        const LifecycleExecution& polled) {
  if (report.request_id != id) {
    return violation(rules::kPushReport)
           << "for request id " << quoted(id) << " it reported " << describe(report);
  }
  if (auto shape = check_execution(report, id); !shape) {
    return ::testing::AssertionFailure()
           << "in the outcome pushed through the reporter: " << shape.message();
  }
  if (!same_answer(report, polled)) {
    return violation(rules::kPushReport)
           << "the report and the status polls differ in " << differences(report, polled)
           << ": reported " << describe(report) << ", polled " << describe(polled);
  }
  return ::testing::AssertionSuccess();
}

}  // namespace flint::sdk::testing::detail
