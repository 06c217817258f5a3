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

}  // namespace
}  // namespace flint::cli
