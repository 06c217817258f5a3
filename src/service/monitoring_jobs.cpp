#include "service/monitoring_jobs.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <flint/sdk/json.hpp>

namespace flint::service {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::chrono::steady_clock::time_point running_deadline(std::int64_t deadline_at,
                                                       std::chrono::milliseconds longest) {
  const std::chrono::milliseconds left(
      std::clamp<std::int64_t>(deadline_at - now_ms(), 0, longest.count()));
  return std::chrono::steady_clock::now() + left;
}

std::size_t resume_jobs(store::Store& store, jobs::JobScheduler& scheduler, std::string_view kind,
                        std::chrono::milliseconds longest,
                        const std::function<void(jobs::Job&)>& prepare) {
  std::vector<jobs::Job> jobs = store.read([kind, longest](store::Database& db) {
    std::vector<jobs::Job> found;
    auto select = db.prepare(
        "SELECT subject, payload, deadline_at, header FROM jobs WHERE kind = ? "
        "ORDER BY created_at");
    select.bind(1, kind);
    while (select.step()) {
      found.push_back(
          {kind,
           std::string(select.column_text(0)),
           std::string(select.column_text(1)),
           select.column_is_null(3) ? std::string() : std::string(select.column_text(3)),
           running_deadline(select.column_int(2), longest),
           0,
           {}});
    }
    return found;
  });
  if (prepare) {
    for (auto& job : jobs) prepare(job);
  }
  const auto now = std::chrono::steady_clock::now();
  for (auto& job : jobs) scheduler.schedule(std::move(job), now);
  return jobs.size();
}

store::Store::Done end_run_on_commit(jobs::JobRun run) {
  return [run](std::exception_ptr failure) {
    if (!failure) {
      run.finish(jobs::JobStep::finished);
      return;
    }
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      run.fail(e);
    } catch (...) {
      run.finish(jobs::JobStep::retry_later);
    }
  };
}

sdk::FailureDetails failed_without_details(std::string_view driver) {
  return {sdk::FailureCode::internal_error,
          fmt::format("driver '{}' reported FAILED without failure details", driver)};
}

std::string no_outcome_in_time(std::chrono::milliseconds total_timeout) {
  return fmt::format("no outcome within monitoring.total_timeout ({} s)",
                     std::chrono::duration_cast<std::chrono::seconds>(total_timeout).count());
}

std::string unstorable_outcome(sdk::ExecutionStatus status, const boost::json::object& encoded,
                               std::size_t size, std::size_t limit) {
  std::string problem;
  if (size > limit) {
    problem = fmt::format("of {} bytes as JSON, over monitoring.max_outcome_size ({} bytes)", size,
                          limit);
  } else if (sdk::json::nests_deeper_than(encoded, sdk::json::kMaxDepth)) {
    problem = fmt::format("nested deeper than {} levels of JSON objects and arrays",
                          sdk::json::kMaxDepth);
  } else {
    return {};
  }
  return fmt::format(
      "the driver reported {} with an outcome {}; its outputs and associated topology were "
      "dropped{}",
      sdk::to_string(status), problem,
      status == sdk::ExecutionStatus::complete
          ? ", not its work: what it built or changed on the target is in place"
          : "");
}

OutcomeRepairs repair_outcome_text(boost::json::object& encoded, std::string& payload) {
  OutcomeRepairs repairs;
  if (!sdk::json::is_valid_utf8(payload)) repairs.strings = sdk::json::repair_utf8(encoded);
  if (sdk::json::may_hold_non_finite(payload))
    repairs.numbers = sdk::json::null_non_finite(encoded);
  if (repairs) payload = boost::json::serialize(encoded);
  return repairs;
}

std::vector<std::string> describe_repairs(const OutcomeRepairs& repairs, std::string_view driver) {
  std::vector<std::string> lines;
  if (repairs.strings != 0) {
    lines.push_back(fmt::format(
        "{} strings of driver '{}''s outcome are not valid UTF-8; each bad byte is replaced "
        "with U+FFFD",
        repairs.strings, driver));
  }
  if (repairs.numbers != 0) {
    lines.push_back(fmt::format(
        "{} numbers of driver '{}''s outcome are infinite or NaN, which JSON cannot hold; each "
        "is replaced with null",
        repairs.numbers, driver));
  }
  return lines;
}

std::string oversized_acceptance(std::string_view driver, std::size_t size, std::size_t limit) {
  return fmt::format(
      "driver '{}' accepted the request with an associatedTopology of {} bytes as JSON, over "
      "monitoring.max_outcome_size ({} bytes): the execution is not recorded or monitored",
      driver, size, limit);
}

void keep_contract_failure_code(std::optional<sdk::FailureDetails>& details,
                                bool infrastructure_task) {
  if (!details) return;
  const sdk::FailureCode other_kind_only = infrastructure_task
                                               ? sdk::FailureCode::resource_not_found
                                               : sdk::FailureCode::resource_already_exists;
  if (details->code != other_kind_only) return;
  details->description = fmt::format(
      "{} (not a failure code of {}): {}", sdk::to_string(details->code),
      infrastructure_task ? "infrastructure tasks" : "lifecycle executions", details->description);
  details->code = sdk::FailureCode::internal_error;
}

boost::json::array encode_log_fields(const logging::LogFields& fields) {
  boost::json::array encoded;
  for (const auto& [key, value] : fields) encoded.push_back({key, value});
  return encoded;
}

logging::LogFields decode_log_fields(const boost::json::value& encoded) {
  constexpr std::string_view kExpected = "expected an array of [name, value] pairs of strings";
  const auto* array = encoded.if_array();
  if (!array) throw std::runtime_error(std::string(kExpected));
  logging::LogFields fields;
  for (const auto& field : *array) {
    const auto* pair = field.if_array();
    if (!pair || pair->size() != 2 || !(*pair)[0].is_string() || !(*pair)[1].is_string()) {
      throw std::runtime_error(std::string(kExpected));
    }
    fields.emplace_back((*pair)[0].get_string(), (*pair)[1].get_string());
  }
  return fields;
}

}  // namespace flint::service
