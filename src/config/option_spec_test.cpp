#include "config/option_spec.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace flint::config {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::Not;

ConfigValue parsed(const OptionSpec& spec, std::string_view text) {
  auto result = spec.parse(text);
  if (auto* error = std::get_if<std::string>(&result)) {
    ADD_FAILURE() << "unexpected error for '" << text << "': " << *error;
    return {};
  }
  return std::get<ConfigValue>(result);
}

std::string error_of(const OptionSpec& spec, std::string_view text) {
  auto result = spec.parse(text);
  if (auto* error = std::get_if<std::string>(&result)) return *error;
  return "no error";
}

TEST(OptionSpecParse, Boolean) {
  const auto spec = OptionSpec::boolean(false, "flag");
  for (const char* yes : {"true", "True", "yes", "on", "ON"}) {
    EXPECT_EQ(parsed(spec, yes), ConfigValue{true}) << yes;
  }
  for (const char* no : {"false", "no", "off", "FALSE"}) {
    EXPECT_EQ(parsed(spec, no), ConfigValue{false}) << no;
  }
  EXPECT_EQ(error_of(spec, "maybe"), R"(expected a boolean (true or false), found "maybe")");
  EXPECT_EQ(error_of(spec, "1"), R"(expected a boolean (true or false), found "1")");
}

TEST(OptionSpecParse, IntegerShapeThenRange) {
  const auto spec = OptionSpec::integer(8290, "port", {.min = 0, .max = 65535});
  EXPECT_EQ(parsed(spec, "80"), ConfigValue{std::int64_t{80}});
  EXPECT_EQ(parsed(spec, "+80"), ConfigValue{std::int64_t{80}});
  EXPECT_EQ(parsed(spec, "-3"), ConfigValue{std::int64_t{-3}});  // range is check()'s job
  EXPECT_EQ(error_of(spec, "80x"), R"(expected an integer, found "80x")");
  EXPECT_EQ(error_of(spec, "1e3"), R"(expected an integer, found "1e3")");
  EXPECT_EQ(error_of(spec, "99999999999999999999"),
            R"(expected an integer, found "99999999999999999999")");
  EXPECT_EQ(spec.check(std::int64_t{65535}), std::nullopt);
  EXPECT_EQ(spec.check(std::int64_t{70000}),
            "70000 is out of range: expected an integer between 0 and 65535");
  EXPECT_EQ(spec.check(std::int64_t{-1}),
            "-1 is out of range: expected an integer between 0 and 65535");
  EXPECT_EQ(OptionSpec::integer(2, "n", {.min = 1}).check(std::int64_t{0}),
            "0 is out of range: expected an integer >= 1");
}

TEST(OptionSpecParse, StringTakesAnyText) {
  const auto spec = OptionSpec::string("x", "s");
  EXPECT_EQ(parsed(spec, ""), ConfigValue{std::string()});
  EXPECT_EQ(parsed(spec, " 127.0.0.1 "), ConfigValue{std::string(" 127.0.0.1 ")});
}

TEST(OptionSpecParse, EnumerationIsCaseInsensitiveAndCanonical) {
  const auto spec = OptionSpec::enumeration("info", {"debug", "info", "warn"}, "level")
                        .with_value_aliases({{"warning", "warn"}});
  EXPECT_EQ(parsed(spec, "INFO"), ConfigValue{std::string("info")});
  EXPECT_EQ(parsed(spec, "Warning"), ConfigValue{std::string("warn")});
  EXPECT_EQ(error_of(spec, "verbose"), R"(expected one of: debug, info, warn, found "verbose")");
  EXPECT_EQ(spec.check(std::string("nope")), "expected one of: debug, info, warn");
}

TEST(OptionSpecParse, DurationShapeThenRange) {
  const auto spec = OptionSpec::duration(milliseconds(1000), "t", {.min = milliseconds(1)});
  EXPECT_EQ(parsed(spec, "250ms"), ConfigValue{milliseconds(250)});
  EXPECT_EQ(parsed(spec, "2"), ConfigValue{milliseconds(2000)});
  EXPECT_EQ(error_of(spec, "2 weeks"),
            R"(expected a duration such as 250ms, 30s, 5m, 1h (a bare number means seconds), )"
            R"(found "2 weeks")");
  EXPECT_EQ(spec.check(milliseconds(0)),
            "0ms is out of range: expected a duration such as 250ms, 30s, 5m, 1h (a bare number "
            "means seconds) of at least 1ms");
  // Unbounded options too: `now` plus 300 years overflows a nanosecond clock.
  EXPECT_EQ(spec.check(kMaxDuration), std::nullopt);
  EXPECT_EQ(spec.check(std::chrono::hours(2'628'000)),
            "expected a duration of at most 87600h (10 years), got 2628000h");
}

TEST(OptionSpecParse, SizeShapeThenRange) {
  const auto spec = OptionSpec::size(1024, "s", {.min = 1024, .max = 1024 * 1024});
  EXPECT_EQ(parsed(spec, "16KiB"), ConfigValue{std::uint64_t{16 * 1024}});
  // Only examples within the bounds, even when the bounds are not stated.
  EXPECT_EQ(error_of(spec, "16kb"), R"(expected a size such as 16KiB, found "16kb")");
  EXPECT_EQ(*spec.check(std::uint64_t{2 * 1024 * 1024}),
            "2MiB is out of range: expected a size such as 16KiB between 1KiB and 1MiB");
  EXPECT_EQ(OptionSpec::size(1, "s").expectation(),
            "a size such as 512, 16KiB, 64MiB, 1GiB or 10MB");
}

TEST(OptionSpecParse, ExamplesNeverCiteWhatTheBoundsRefuse) {
  // `512B` below a 1KiB minimum: the message must not offer 512 as an example.
  const auto at_least_1KiB = OptionSpec::size(16 * 1024, "s", {.min = 1024});
  EXPECT_EQ(parsed(at_least_1KiB, "512B"), ConfigValue{std::uint64_t{512}});
  EXPECT_EQ(*at_least_1KiB.check(std::uint64_t{512}),
            "512 is out of range: expected a size such as 16KiB, 64MiB, 1GiB or 10MB of at least "
            "1KiB");
  EXPECT_EQ(OptionSpec::size(1024, "s", {.max = 4096}).expectation(),
            "a size such as 512 of at most 4KiB");
  // No stock example fits: the bounds are the examples.
  EXPECT_EQ(OptionSpec::size(2048, "s", {.min = 1024, .max = 4096}).expectation(),
            "a size such as 1KiB or 4KiB between 1KiB and 4KiB");
  EXPECT_EQ(
      OptionSpec::duration(milliseconds(10'000), "t", {.min = milliseconds(1000)}).expectation(),
      "a duration such as 30s, 5m, 1h (a bare number means seconds) of at least 1s");
  EXPECT_EQ(OptionSpec::duration(milliseconds(100), "t",
                                 {.min = milliseconds(10), .max = milliseconds(100)})
                .expectation(),
            "a duration such as 10ms, 100ms (a bare number means seconds) between 10ms and 100ms");
}

TEST(OptionSpecParse, ListFromCommasOrFlowSequence) {
  const auto spec = OptionSpec::string_list({}, "l");
  EXPECT_EQ(parsed(spec, "a, b ,c"), (ConfigValue{std::vector<std::string>{"a", "b", "c"}}));
  EXPECT_EQ(parsed(spec, "[x, 'y,z']"), (ConfigValue{std::vector<std::string>{"x", "y,z"}}));
  EXPECT_EQ(parsed(spec, ""), ConfigValue{std::vector<std::string>{}});
  EXPECT_EQ(error_of(spec, "[a, [b]]"), R"(expected a list of strings, found "[a, [b]]")");
}

TEST(OptionSpecParse, MapFromPairsOrFlowMapping) {
  const auto spec = OptionSpec::string_map({}, "m");
  EXPECT_EQ(parsed(spec, "a=1, b = two"), (ConfigValue{StringMap{{"a", "1"}, {"b", "two"}}}));
  EXPECT_EQ(parsed(spec, "{k: v, 'x.y': 'a=b'}"),
            (ConfigValue{StringMap{{"k", "v"}, {"x.y", "a=b"}}}));
  EXPECT_EQ(error_of(spec, "novalue"),
            "expected a mapping of names to strings (k=v,k2=v2 or {k: v}), found entry 1 of 1 "
            "without '='");
  EXPECT_EQ(error_of(spec, "a=1, =v"),
            "expected a mapping of names to strings (k=v,k2=v2 or {k: v}), found entry 2 of 2 "
            "with an empty name");
  EXPECT_THAT(error_of(spec, "{k: [1]}"), HasSubstr("found entry 'k' whose value is not a string"));
  EXPECT_THAT(error_of(spec, "{k: v"), HasSubstr("not a YAML flow mapping"));
}

TEST(OptionSpecParse, MapErrorsNeverQuoteTheText) {
  // Any entry may be a secret; a password with a comma splits into two entries.
  const auto spec = OptionSpec::string_map({}, "m");
  for (const char* text : {"sasl.password=hunter2,broken", "sasl.password=hunt,er2", "{hunter2",
                           "{sasl.password: [hunter2]}", "hunter2"}) {
    const auto error = error_of(spec, text);
    EXPECT_THAT(error, HasSubstr("expected a mapping of names to strings")) << text;
    EXPECT_THAT(error, Not(HasSubstr("hunt"))) << text;
  }
}

TEST(OptionSpecParse, MapKeyWrittenTwiceIsAnError) {
  const auto spec = OptionSpec::string_map({}, "m");
  EXPECT_EQ(error_of(spec, "k=1,k=2"), "duplicate key 'k'");
  EXPECT_EQ(error_of(spec, "{k: 1, k: 2}"), "duplicate key 'k'");
  EXPECT_EQ(error_of(spec, "b=1, a=2, b=3, a=4, b=5"), "duplicate keys 'b', 'a'");
  // Never the values.
  EXPECT_THAT(error_of(spec, "sasl.password=s3cr3t,sasl.password=t0ken"), Not(HasSubstr("s3cr3t")));
}

TEST(OptionSpecParse, SecretsAreNeverEchoed) {
  const auto spec = OptionSpec::integer(1, "pin", {.max = 9}).as_secret();
  const auto error = error_of(spec, "hunter2");
  EXPECT_THAT(error, Not(HasSubstr("hunter2")));
  EXPECT_THAT(error, HasSubstr("expected an integer, found an invalid value (not shown"));
  EXPECT_EQ(spec.check(std::int64_t{12345}), "the value is out of range: expected an integer <= 9");
}

TEST(OptionSpecFormat, RendersParsableText) {
  EXPECT_EQ(OptionSpec::string("", "").format(std::string()), "\"\"");
  EXPECT_EQ(OptionSpec::string("", "").format(std::string("a b")), "a b");
  EXPECT_EQ(OptionSpec::string("", "").format(std::string("true")), "\"true\"");
  EXPECT_EQ(OptionSpec::duration({}, "").format(milliseconds(30'000)), "30s");
  EXPECT_EQ(OptionSpec::size(0, "").format(std::uint64_t{64 * 1024 * 1024}), "64MiB");
  EXPECT_EQ(OptionSpec::string_list({}, "").format(std::vector<std::string>{"a", "b c"}),
            "[a, b c]");
  EXPECT_EQ(OptionSpec::string_map({}, "").format(StringMap{{"k", "v"}}), "{k: v}");
}

}  // namespace
}  // namespace flint::config
