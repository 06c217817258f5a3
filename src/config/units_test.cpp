#include "config/units.hpp"

#include <gtest/gtest.h>

namespace flint::config {
namespace {

using std::chrono::milliseconds;

TEST(ParseDuration, AcceptsEveryUnitAndBareSeconds) {
  EXPECT_EQ(parse_duration("250ms"), milliseconds(250));
  EXPECT_EQ(parse_duration("30s"), milliseconds(30'000));
  EXPECT_EQ(parse_duration("5m"), milliseconds(300'000));
  EXPECT_EQ(parse_duration("1h"), milliseconds(3'600'000));
  EXPECT_EQ(parse_duration("30"), milliseconds(30'000));
  EXPECT_EQ(parse_duration("0"), milliseconds(0));
  EXPECT_EQ(parse_duration(" 10 s "), milliseconds(10'000));
}

TEST(ParseDuration, RefusesGarbageNegativesUnknownUnitsAndOverflow) {
  for (const char* text : {"", "s", "-5s", "+5s", "5x", "5 minutes", "1.5s", "5sec", "ms10", "5  s",
                           "99999999999999999999", "9223372036854775807h"}) {
    EXPECT_EQ(parse_duration(text), std::nullopt) << text;
  }
}

TEST(ParseSize, AcceptsBinaryAndDecimalUnits) {
  EXPECT_EQ(parse_size("512"), 512u);
  EXPECT_EQ(parse_size("512B"), 512u);
  EXPECT_EQ(parse_size("16KiB"), 16u * 1024);
  EXPECT_EQ(parse_size("64MiB"), 64u * 1024 * 1024);
  EXPECT_EQ(parse_size("1GiB"), 1024u * 1024 * 1024);
  EXPECT_EQ(parse_size("2TiB"), 2ull * 1024 * 1024 * 1024 * 1024);
  EXPECT_EQ(parse_size("10KB"), 10'000u);
  EXPECT_EQ(parse_size("3MB"), 3'000'000u);
  EXPECT_EQ(parse_size("1GB"), 1'000'000'000u);
  EXPECT_EQ(parse_size("1 MiB"), 1024u * 1024);
}

TEST(ParseSize, RefusesGarbageWrongCaseAndOverflow) {
  for (const char* text : {"", "KiB", "-1", "1.5MiB", "16kib", "16k", "16 KiBs", "1PiB",
                           "18446744073709551616", "17179869184GiB"}) {
    EXPECT_EQ(parse_size(text), std::nullopt) << text;
  }
}

TEST(FormatUnits, PicksTheLargestExactUnitAndRoundTrips) {
  EXPECT_EQ(format_duration(milliseconds(0)), "0ms");
  EXPECT_EQ(format_duration(milliseconds(250)), "250ms");
  EXPECT_EQ(format_duration(milliseconds(1500)), "1500ms");
  EXPECT_EQ(format_duration(milliseconds(30'000)), "30s");
  EXPECT_EQ(format_duration(milliseconds(90'000)), "90s");
  EXPECT_EQ(format_duration(milliseconds(300'000)), "5m");
  EXPECT_EQ(format_duration(milliseconds(7'200'000)), "2h");
  EXPECT_EQ(format_size(0), "0");
  EXPECT_EQ(format_size(1000), "1000");
  EXPECT_EQ(format_size(16 * KiB), "16KiB");
  EXPECT_EQ(format_size(64 * MiB), "64MiB");
  EXPECT_EQ(format_size(1536 * MiB), "1536MiB");
  EXPECT_EQ(format_size(GiB), "1GiB");
  for (const std::uint64_t bytes : {std::uint64_t{1}, 4097 * KiB, 3 * GiB, 1000 * GiB}) {
    EXPECT_EQ(parse_size(format_size(bytes)), bytes);
  }
  for (const auto ms : {1, 999, 61'000, 3'600'001}) {
    EXPECT_EQ(parse_duration(format_duration(milliseconds(ms))), milliseconds(ms));
  }
}

}  // namespace
}  // namespace flint::config
