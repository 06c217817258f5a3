#pragma once

/// @file
/// What the monitors of lifecycle executions and infrastructure tasks share:
/// their jobs in the store, the sealed log context, the clock of the store.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <flint/sdk/lifecycle.hpp>

#include "jobs/job_scheduler.hpp"
#include "logging/log_context.hpp"
#include "store/store.hpp"

namespace flint::service {

/// Milliseconds since the epoch, as the store records times.
std::int64_t now_ms();

/// When a job whose stored deadline is `deadline_at` (ms since the epoch)
/// ends, on the monotonic clock: in as long as the wall clock says is left,
/// but never more than `longest` (the total timeout: a clock set back while
/// the host was down cannot stretch it) nor less than nothing. From then on
/// the wall clock no longer counts.
std::chrono::steady_clock::time_point running_deadline(std::int64_t deadline_at,
                                                       std::chrono::milliseconds longest);

/// Schedules, due now, every job of `kind` found in the store (at start),
/// oldest first; their payloads are read back sealed, their deadlines made
/// monotonic (`running_deadline`, at most `longest` away). `prepare`, when
/// given, sees each job first, oldest first. Returns how many.
std::size_t resume_jobs(store::Store& store, jobs::JobScheduler& scheduler, std::string_view kind,
                        std::chrono::milliseconds longest,
                        const std::function<void(jobs::Job&)>& prepare = {});

/// Ends `run` once the write it queued is committed (`Store::write_async`):
/// `finished` when it was; otherwise as a failure, which is logged and retried.
store::Store::Done end_run_on_commit(jobs::JobRun run);

/// The failure description of an execution or task with no outcome within
/// `monitoring.total_timeout`.
std::string no_outcome_in_time(std::chrono::milliseconds total_timeout);

/// Why an outcome cannot be stored as the driver reported it, or an empty
/// string when it can: its JSON form (`encoded`, `size` bytes as text) is
/// over `monitoring.max_outcome_size` (`limit` bytes), or nests deeper than
/// `sdk::json::kMaxDepth`. Such an outcome ends FAILED without its outputs:
/// stored and sent whole, it would swell the store and make an event Kafka
/// refuses, or a record no reader can parse back. The description says what
/// the driver reported (`status`): a COMPLETE that ends FAILED this way left
/// its work done on the target (a create's resources exist).
std::string unstorable_outcome(sdk::ExecutionStatus status, const boost::json::object& encoded,
                               std::size_t size, std::size_t limit);

/// What `repair_outcome_text` changed.
struct OutcomeRepairs {
  std::size_t strings = 0;  ///< strings and keys that were not valid UTF-8
  std::size_t numbers = 0;  ///< numbers that were not finite, now null
  explicit operator bool() const noexcept { return strings != 0 || numbers != 0; }
};

/// Makes an outcome's JSON text (`payload`, serialized from `encoded`), or
/// any driver reply's, valid JSON: stored as a driver sent it (a device's Latin-1 output, a number
/// beyond a double's range written `Infinity`), the record could not be read
/// back and the event would not parse. Repairs `encoded`
/// (`sdk::json::repair_utf8`, `sdk::json::null_non_finite`) and serializes it
/// again into `payload` when needed.
OutcomeRepairs repair_outcome_text(boost::json::object& encoded, std::string& payload);

/// What `repairs` changed in driver `driver`'s outcome, a warning line per
/// kind: `3 strings of driver 'x''s outcome are not valid UTF-8; each bad
/// byte is replaced with U+FFFD`.
std::vector<std::string> describe_repairs(const OutcomeRepairs& repairs, std::string_view driver);

/// The error of an execute whose driver answered an `associatedTopology` of
/// `size` bytes as JSON, over `monitoring.max_outcome_size` (`limit` bytes).
/// Such an execution is not recorded: the orchestrator gets a driver error.
std::string oversized_acceptance(std::string_view driver, std::size_t size, std::size_t limit);

/// The failure details given to a `FAILED` outcome that had none:
/// `INTERNAL_ERROR`, saying so (an orchestrator's user sees the description).
sdk::FailureDetails failed_without_details(std::string_view driver);

/// Keeps `details` to the contract's failure codes for its kind of outcome:
/// `RESOURCE_ALREADY_EXISTS` is for infrastructure tasks only and
/// `RESOURCE_NOT_FOUND` for lifecycle executions only. Another code becomes
/// `INTERNAL_ERROR`, the driver's code at the head of the description: an
/// orchestrator (or a client generated from the OpenAPI enum) may not know it.
void keep_contract_failure_code(std::optional<sdk::FailureDetails>& details,
                                bool infrastructure_task);

/// Log fields as a JSON array of [name, value] pairs, for a sealed job payload.
boost::json::array encode_log_fields(const logging::LogFields& fields);
/// The inverse of `encode_log_fields`.
/// @throws std::runtime_error when `encoded` is not an array of pairs of
///         strings (a record from elsewhere: the request queue's).
logging::LogFields decode_log_fields(const boost::json::value& encoded);

}  // namespace flint::service
