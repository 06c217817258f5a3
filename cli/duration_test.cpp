#include "duration.hpp"

#include <stdexcept>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace flint::cli {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

TEST(ParseDurationTest, AcceptsUnitsAndCombinations) {
  EXPECT_EQ(parse_duration("90s", "--timeout"), 90s);
  EXPECT_EQ(parse_duration("10m", "--timeout"), 10min);
  EXPECT_EQ(parse_duration("1h30m", "--timeout"), 90min);
  EXPECT_EQ(parse_duration("500ms", "--timeout"), 500ms);
  EXPECT_EQ(parse_duration("2m5s", "--timeout"), 125s);
}

TEST(ParseDurationTest, ABareNumberIsSeconds) {
  EXPECT_EQ(parse_duration("30", "--timeout"), 30s);
}

std::string error_of(std::string_view text) {
  try {
    parse_duration(text, "--timeout");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

TEST(ParseDurationTest, RejectsMalformedText) {
  EXPECT_THAT(error_of(""), HasSubstr("--timeout"));
  EXPECT_THAT(error_of("ten"), HasSubstr("expected a duration"));
  EXPECT_THAT(error_of("10x"), HasSubstr("unknown unit"));
  EXPECT_THAT(error_of("1h30"), HasSubstr("unit (ms, s, m, h) is missing"));
  EXPECT_THAT(error_of("-5s"), HasSubstr("expected a duration"));
  EXPECT_THAT(error_of("0s"), HasSubstr("greater than zero"));
  EXPECT_THAT(error_of("31d"), HasSubstr("unknown unit"));
  EXPECT_THAT(error_of("1.5"),
              HasSubstr("expected a whole number with its unit (1500ms, not 1.5s)"));
  EXPECT_THAT(error_of("2.5m"), HasSubstr("expected a whole number with its unit"));
  EXPECT_THAT(error_of("800h"), HasSubstr("more than 30 days"));
  EXPECT_THAT(error_of("10m"), "no error");
}

TEST(FormatElapsedTest, ScalesTheUnit) {
  EXPECT_EQ(format_elapsed(850ms), "850ms");
  EXPECT_EQ(format_elapsed(12345ms), "12.3s");
  EXPECT_EQ(format_elapsed(245s), "4m05s");
  EXPECT_EQ(format_elapsed(62min), "1h02m");
  EXPECT_EQ(format_elapsed(-5ms), "0ms");
}

}  // namespace
}  // namespace flint::cli
