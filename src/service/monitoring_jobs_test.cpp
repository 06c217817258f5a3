#include "service/monitoring_jobs.hpp"

#include <cmath>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <flint/sdk/json.hpp>

namespace flint::service {
namespace {

using namespace std::chrono_literals;
using std::chrono::steady_clock;

TEST(RunningDeadline, IsWhatTheWallClockSaysIsLeftOnTheMonotonicClock) {
  const auto before = steady_clock::now();
  const auto deadline = running_deadline(now_ms() + 60'000, 6h);
  EXPECT_GE(deadline, before + 59s);
  EXPECT_LE(deadline, steady_clock::now() + 60s);
}

TEST(RunningDeadline, IsNeverFurtherThanTheLongestWait) {
  // A clock set back a day while the host was down: the stored deadline looks
  // a day further away than it was ever meant to be.
  const auto deadline = running_deadline(now_ms() + 24 * 3'600'000LL, 6h);
  EXPECT_LE(deadline, steady_clock::now() + 6h);
  EXPECT_GE(deadline, steady_clock::now() + 6h - 1min);
}

TEST(RepairOutcomeText, MakesAnOutcomeValidJsonAndSaysWhatChanged) {
  boost::json::object encoded{{"requestId", "r"},
                              {"outputs", {{"name", "caf\xE9"}, {"big", HUGE_VAL}, {"n", 1.5}}}};
  std::string payload = boost::json::serialize(encoded);
  const OutcomeRepairs repairs = repair_outcome_text(encoded, payload);
  EXPECT_EQ(repairs.strings, 1u);
  EXPECT_EQ(repairs.numbers, 1u);
  EXPECT_EQ(boost::json::parse(payload), encoded) << payload;
  EXPECT_TRUE(encoded.at("outputs").at("big").is_null());
  EXPECT_EQ(describe_repairs(repairs, "acme"),
            (std::vector<std::string>{
                "1 strings of driver 'acme''s outcome are not valid UTF-8; each bad byte is "
                "replaced with U+FFFD",
                "1 numbers of driver 'acme''s outcome are infinite or NaN, which JSON cannot "
                "hold; each is replaced with null"}));

  const std::string valid = payload;
  EXPECT_FALSE(repair_outcome_text(encoded, payload)) << "nothing left to repair";
  EXPECT_EQ(payload, valid);
}

TEST(UnstorableOutcome, NamesTheSizeOrTheDepthOverItsLimit) {
  std::string deep = "1";
  for (std::size_t i = 0; i < sdk::json::kMaxDepth; ++i) deep = R"({"a":)" + deep + "}";
  const auto outcome = [](const std::string& outputs) {
    return sdk::json::parse_stored(R"({"requestId":"r","status":"COMPLETE","outputs":)" + outputs +
                                   "}")
        .as_object();
  };
  EXPECT_EQ(unstorable_outcome(sdk::ExecutionStatus::complete, outcome("{}"), 100, 100), "");
  EXPECT_EQ(unstorable_outcome(sdk::ExecutionStatus::failed, outcome("{}"), 101, 100),
            "the driver reported FAILED with an outcome of 101 bytes as JSON, over "
            "monitoring.max_outcome_size (100 bytes); its outputs and associated topology were "
            "dropped");
  // The outputs at the limit make the outcome one level deeper than it.
  EXPECT_EQ(unstorable_outcome(sdk::ExecutionStatus::complete, outcome(deep), 10, 1000),
            "the driver reported COMPLETE with an outcome nested deeper than 64 levels of JSON "
            "objects and arrays; its outputs and associated topology were dropped, not its work: "
            "what it built or changed on the target is in place");
}

TEST(RunningDeadline, APassedDeadlineIsNow) {
  const auto deadline = running_deadline(now_ms() - 1'000, 6h);
  EXPECT_LE(deadline, steady_clock::now());
  EXPECT_GE(deadline, steady_clock::now() - 1min);
}

}  // namespace
}  // namespace flint::service
