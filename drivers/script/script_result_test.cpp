#include "script/script_result.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <flint/sdk/errors.hpp>

namespace flint::drivers::script {
namespace {

namespace bj = boost::json;
using sdk::FailureCode;
using sdk::LifecycleExecution;
using ::testing::HasSubstr;

TEST(StderrTailTest, KeepsTheEndOnACharacterBoundary) {
  EXPECT_EQ(stderr_tail("short\n\n", 100), "short");
  EXPECT_EQ(stderr_tail("", 100), "");
  EXPECT_EQ(stderr_tail("abcdefghij", 4), "...ghij");
  // "é" is two bytes (C3 A9): a cut inside it drops the orphan byte.
  EXPECT_EQ(stderr_tail("xx\xC3\xA9yz", 4), "...\xC3\xA9yz");
  EXPECT_EQ(stderr_tail("xx\xC3\xA9yz", 3), "...yz");
}

TEST(StderrTailTest, ReplacesInvalidUtf8) {
  EXPECT_EQ(sanitize_utf8("ok\xFF!"), "ok\xEF\xBF\xBD!");
  EXPECT_EQ(sanitize_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong
  EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(sanitize_utf8("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");                  // emoji stays
  EXPECT_EQ(sanitize_utf8("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // truncated
}

TEST(LifecycleResultTest, ExitZeroCompletesWithOutputsAndTopology) {
  const auto result =
      lifecycle_result("id", "Create", 0, std::string(R"({"outputs": {"ip": "10.0.0.1", "n": 2},
                     "associatedTopology": {"vm": {"id": "i-1", "type": "Openstack"}, "old": null},
                     "failureCode": "INFRASTRUCTURE_ERROR"})"),
                       "warnings", 100);
  sdk::AssociatedTopology topology;
  topology.add("vm", {"i-1", "Openstack"});
  topology.remove("old");
  EXPECT_EQ(result,
            LifecycleExecution::complete("id", bj::object{{"ip", "10.0.0.1"}, {"n", 2}}, topology));
  EXPECT_EQ(lifecycle_result("id", "Create", 0, std::nullopt, "", 10),
            LifecycleExecution::complete("id"));
  EXPECT_EQ(lifecycle_result("id", "Create", 0, std::string(" \n"), "", 10),
            LifecycleExecution::complete("id"));
}

TEST(LifecycleResultTest, NonZeroExitFailsWithTheScriptsCode) {
  EXPECT_EQ(
      lifecycle_result("id", "Create", 2, std::string(R"({"failureCode": "INSUFFICIENT_CAPACITY",
                                            "failureDescription": "no room",
                                            "outputs": {"partial": true}})"),
                       "ignored", 100),
      LifecycleExecution::failed("id", FailureCode::insufficient_capacity, "no room",
                                 bj::object{{"partial", true}}));
  EXPECT_EQ(
      lifecycle_result("id", "Create", 3, std::nullopt, "line 1\nline 2\n", 100),
      LifecycleExecution::failed("id", FailureCode::internal_error, "exit code 3: line 1\nline 2"));
  EXPECT_EQ(lifecycle_result("id", "Create", 1, std::nullopt, "", 100),
            LifecycleExecution::failed("id", FailureCode::internal_error,
                                       "exit code 1 (nothing on stderr)"));
  EXPECT_EQ(
      lifecycle_result("id", "Create", 5, std::string(R"({"failureCode": "OOPS"})"), "tail", 100),
      LifecycleExecution::failed("id", FailureCode::internal_error,
                                 "unknown failureCode \"OOPS\"; exit code 5: tail"));
  // A key a tool printed, passed on by the script: masked as on stderr.
  const std::string keyed =
      R"json({"failureDescription": "ssh said: -----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY----- (refused)"})json";
  EXPECT_EQ(lifecycle_result("id", "Create", 1, keyed, "", 100).failure_details->description,
            "ssh said: **** (refused)");
}

TEST(LifecycleResultTest, MalformedResultFileFailsNamingTheProblem) {
  auto description = [](std::string result) {
    const auto execution = lifecycle_result("id", "Create", 0, result, "", 100);
    EXPECT_EQ(execution.status, sdk::ExecutionStatus::failed);
    EXPECT_EQ(execution.failure_details->code, FailureCode::internal_error);
    return execution.failure_details->description;
  };
  EXPECT_THAT(description("{not json"),
              HasSubstr("lifecycle Create (exit code 0): malformed result file: not valid JSON"));
  EXPECT_EQ(description("[1]"),
            "lifecycle Create (exit code 0): malformed result file: expected a JSON object");
  EXPECT_EQ(description(R"({"outputs": [1]})"),
            "lifecycle Create (exit code 0): malformed result file: outputs: expected an object");
  EXPECT_THAT(description(R"({"associatedTopology": {"vm": {"id": "x"}}})"),
              HasSubstr("malformed result file: associatedTopology.vm.type: required"));
  // A misspelt field would otherwise drop what the script reported.
  EXPECT_EQ(description(R"({"output": {"ip": "10.0.0.5"}})"),
            "lifecycle Create (exit code 0): malformed result file: output: unknown field "
            "(expected outputs, associatedTopology, failureCode, failureDescription)");
}

TEST(LifecycleResultTest, AnUnusableResultFileIsMalformed) {
  const auto execution = lifecycle_result(
      "id", "Create", 0, ResultFile::unusable("not a regular file"), "stderr", 100);
  EXPECT_EQ(execution, LifecycleExecution::failed(
                           "id", FailureCode::internal_error,
                           "lifecycle Create (exit code 0): malformed result file: not a "
                           "regular file"));
}

// A text with a key in the middle; every line of its body must be masked.
struct KeyedText {
  std::string text;
  std::vector<std::string> body;
};

KeyedText keyed_text() {
  KeyedText keyed;
  keyed.text = "starting\n-----BEGIN RSA PRIVATE KEY-----\n";
  for (int i = 0; i < 50; ++i) {
    keyed.body.push_back("SECRETLINE" + std::to_string(i) + std::string(50, 'k'));
    keyed.text += keyed.body.back() + "\n";
  }
  keyed.text += "-----END RSA PRIVATE KEY-----\nfatal: after the key\n";
  return keyed;
}

TEST(MaskPrivateKeysTest, MasksAKeyThatStartsBeforeTheTextKept) {
  const auto keyed = keyed_text();
  const std::string_view text = keyed.text;
  // Every place the kept tail may start, with the part before it fed in
  // pieces of several sizes (markers cut at every position).
  for (const std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{4096}}) {
    for (std::size_t kept_from = 0; kept_from <= text.size(); ++kept_from) {
      PrivateKeyTracker tracker;
      for (std::size_t at = 0; at < kept_from; at += piece) {
        tracker.feed(text.substr(at, std::min(piece, kept_from - at)));
      }
      const std::string masked = mask_private_keys(tracker.resume(), text.substr(kept_from));
      for (const auto& line : keyed.body) {
        ASSERT_EQ(masked.find(line.substr(0, 12)), std::string::npos)
            << "piece " << piece << ", kept from " << kept_from << ": " << masked;
      }
      ASSERT_NE(masked.find("fatal: after the key"), std::string::npos) << masked;
    }
  }
}

// The log's masking takes labels of up to 64 bytes: a piece may end after
// such a label and some of its closing dashes.
TEST(MaskPrivateKeysTest, MasksAKeyWhoseLongestLabelIsCutInItsClosingDashes) {
  const std::string label = std::string(53, 'A') + "PRIVATE KEY";  // 64 bytes
  const std::string begin = "x\n-----BEGIN " + label + "-----";
  const std::string text = begin + "\nSECRETLINE\n-----END " + label + "-----\nafter\n";
  const std::size_t secret_at = text.find("SECRETLINE");
  for (std::size_t dashes = 0; dashes <= 5; ++dashes) {
    const std::size_t cut = begin.size() - 5 + dashes;
    PrivateKeyTracker tracker;
    tracker.feed(std::string_view(text).substr(0, cut));
    tracker.feed(std::string_view(text).substr(cut, secret_at - cut));
    const std::string masked = mask_private_keys(tracker.resume(), text.substr(secret_at));
    EXPECT_EQ(masked.find("SECRETLINE"), std::string::npos) << dashes << " dashes: " << masked;
    EXPECT_THAT(masked, ::testing::EndsWith("****\nafter\n")) << dashes << " dashes";
  }
}

TEST(MaskPrivateKeysTest, LeavesOtherTextAlone) {
  PrivateKeyTracker tracker;
  tracker.feed("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\nplain ");
  // What it puts before the text is the end of the text fed, unmasked.
  const std::string masked = mask_private_keys(tracker.resume(), "text\n");
  EXPECT_THAT(masked, ::testing::EndsWith("-----END CERTIFICATE-----\nplain text\n"));
  EXPECT_EQ(masked.find("****"), std::string::npos);
  EXPECT_EQ(mask_private_keys("", "no key here"), "no key here");
  // A key cut short is masked to the end, as in the log.
  EXPECT_EQ(mask_private_keys("", "x -----BEGIN EC PRIVATE KEY-----\nMHcC"), "x ****");
}

TEST(FindResultTest, FoundNotFoundAndMalformed) {
  EXPECT_FALSE(find_result(std::nullopt).has_value());
  EXPECT_FALSE(find_result(std::string("")).has_value());
  EXPECT_FALSE(find_result(std::string("{}")).has_value());
  const auto found = find_result(std::string(
      R"({"resourceId": "r-1", "outputs": {"a": 1}, "associatedTopology": {"vm": {"id": "i", "type": "T"}}})"));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->resource_id, "r-1");
  EXPECT_EQ(found->outputs, (bj::object{{"a", 1}}));
  EXPECT_EQ(found->associated_topology.size(), 1u);
  try {
    find_result(ResultFile::unusable("not a regular file"));
    ADD_FAILURE() << "no error";
  } catch (const sdk::ResourceDriverError& error) {
    EXPECT_STREQ(error.what(), "Find script: malformed result file: not a regular file");
  }
  try {
    find_result(std::string(R"({"outputs": {}})"));
    ADD_FAILURE() << "no error";
  } catch (const sdk::ResourceDriverError& error) {
    EXPECT_STREQ(error.what(),
                 "Find script: malformed result file: resourceId: required (a non-empty string)");
  }
  try {
    find_result(std::string(R"({"resourceId": "r-1", "resourceID": "r-1"})"));
    ADD_FAILURE() << "no error";
  } catch (const sdk::ResourceDriverError& error) {
    EXPECT_STREQ(error.what(),
                 "Find script: malformed result file: resourceID: unknown field (expected "
                 "resourceId, outputs, associatedTopology)");
  }
}

}  // namespace
}  // namespace flint::drivers::script
