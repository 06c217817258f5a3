#include "json_output.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace flint::cli {
namespace {

TEST(PrettyJsonTest, IndentsNestedValuesInOrder) {
  const auto value = boost::json::parse(R"({"b":1,"a":[true,null,"x"],"c":{"d":{}},"e":[]})");
  EXPECT_EQ(pretty_json(value),
            "{\n"
            "  \"b\": 1,\n"
            "  \"a\": [\n"
            "    true,\n"
            "    null,\n"
            "    \"x\"\n"
            "  ],\n"
            "  \"c\": {\n"
            "    \"d\": {}\n"
            "  },\n"
            "  \"e\": []\n"
            "}");
}

TEST(PrettyJsonTest, ScalarsAndEscapes) {
  EXPECT_EQ(pretty_json(nullptr), "null");
  EXPECT_EQ(pretty_json(boost::json::parse(R"({"q\"":"a\nb"})")), "{\n  \"q\\\"\": \"a\\nb\"\n}");
}

TEST(PrettyJsonTest, NumbersAsPeopleWriteThem) {
  const auto value =
      boost::json::parse(R"({"a":0.25,"b":1.0,"c":123456.789,"d":1e21,"e":-0.0,"f":7,"g":1e-7})");
  EXPECT_EQ(compact_json(value),
            R"({"a":0.25,"b":1.0,"c":123456.789,"d":1e+21,"e":-0.0,"f":7,"g":1e-07})");
  // Every one reads back as the same number, a float still a float.
  const auto again = boost::json::parse(compact_json(value));
  EXPECT_EQ(again, value);
  for (const char* key : {"a", "b", "c", "d", "e", "g"}) EXPECT_TRUE(again.at(key).is_double());
  EXPECT_EQ(pretty_json(boost::json::parse("[0.5]")), "[\n  0.5\n]");
}

TEST(CompactJsonTest, OneLineWithoutSpaces) {
  const auto value = boost::json::parse(R"({"b":1,"a":[true,null,"x\"y"],"c":{"d":{}},"e":[]})");
  EXPECT_EQ(compact_json(value), R"({"b":1,"a":[true,null,"x\"y"],"c":{"d":{}},"e":[]})");
}

}  // namespace
}  // namespace flint::cli
