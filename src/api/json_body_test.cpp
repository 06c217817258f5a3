#include "api/json_body.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <flint/sdk/json.hpp>

#include "api/api_error.hpp"

namespace flint::api {
namespace {

http::Request request(std::string content_type, std::string body) {
  http::Request r(http::Method::post, "/", 11);
  if (!content_type.empty()) r.set(http::beast_http::field::content_type, content_type);
  r.body() = std::move(body);
  return r;
}

http::Status status_of_parse(const http::Request& r) {
  try {
    parse_json_body(r);
  } catch (const ApiError& e) {
    return e.status();
  }
  return http::Status::ok;
}

TEST(JsonBody, AcceptsJsonWithCharset) {
  EXPECT_TRUE(
      parse_json_body(request("application/json; charset=utf-8", R"({"a":1})")).is_object());
}

TEST(JsonBody, MediaTypeIgnoresCaseAndSpaces) {
  EXPECT_TRUE(parse_json_body(request(" Application/JSON ;charset=utf-8", "{}")).is_object());
  EXPECT_TRUE(parse_json_body(request("\tapplication/json\t", "{}")).is_object());
  EXPECT_EQ(status_of_parse(request("application/jsonx", "{}")),
            http::Status::unsupported_media_type);
  EXPECT_EQ(status_of_parse(request(" ; charset=utf-8", "{}")),
            http::Status::unsupported_media_type);
}

TEST(JsonBody, WrongOrMissingContentTypeIs415) {
  EXPECT_EQ(status_of_parse(request("text/plain", "{}")), http::Status::unsupported_media_type);
  EXPECT_EQ(status_of_parse(request("", "{}")), http::Status::unsupported_media_type);
}

TEST(JsonBody, MalformedJsonIs400WithOffset) {
  try {
    parse_json_body(request("application/json", R"({"a": tru})"));
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), http::Status::bad_request);
    EXPECT_NE(std::string(e.what()).find("malformed JSON at byte"), std::string::npos) << e.what();
  }
  EXPECT_EQ(status_of_parse(request("application/json", "{} x")), http::Status::bad_request);
  try {
    parse_json_body(request("application/json", "{\"name\": \"Soci\xe9t\xe9\"}"));
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), http::Status::bad_request);
    EXPECT_STREQ(e.what(), "request body: not valid UTF-8 at byte 14 (JSON text is UTF-8)");
  }
  // A syntax error before any bad byte is reported as such.
  try {
    parse_json_body(request("application/json", "{\"a\": tru, \"b\": \"\xe9\"}"));
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_NE(std::string(e.what()).find("malformed JSON at byte"), std::string::npos) << e.what();
  }
  EXPECT_EQ(status_of_parse(request("application/json", "")), http::Status::bad_request);
}

TEST(JsonBody, ANumberBeyondADoublesRangeIs400NamingIt) {
  const auto message_of = [](std::string body) {
    try {
      parse_json_body(request("application/json", std::move(body)));
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status(), http::Status::bad_request);
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(message_of(R"({"a":{"b":[1,2,-1e400]}})"),
            "a.b[2]: number out of range (beyond a 64-bit float)");
  EXPECT_EQ(message_of("1e999"), "request body: number out of range (beyond a 64-bit float)");
  EXPECT_EQ(message_of(R"({"big":1e308,"tiny":1e-400,"wide":123456789012345678901234567890})"),
            "accepted");
}

TEST(JsonBody, NestingIsLimitedWithAClearMessage) {
  const auto nested = [](std::size_t depth) {
    return std::string(depth, '[') + std::string(depth, ']');
  };
  EXPECT_TRUE(parse_json_body(request("application/json", nested(kMaxJsonDepth))).is_array());
  try {
    parse_json_body(request("application/json", nested(kMaxJsonDepth + 1)));
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), http::Status::bad_request);
    EXPECT_EQ(std::string(e.what()).rfind("request body: JSON nested deeper than 64 levels", 0), 0)
        << e.what();
  }
}

std::size_t values_in(const boost::json::value& value) {
  std::size_t count = 1;
  if (value.is_array()) {
    for (const auto& element : value.get_array()) count += values_in(element);
  } else if (value.is_object()) {
    for (const auto& member : value.get_object()) count += values_in(member.value());
  }
  return count;
}

TEST(JsonBody, CountsValuesAsTheParserSeesThem) {
  for (const std::string_view text : {
           R"(1)",
           R"("a")",
           R"([])",
           R"({})",
           R"([ ])",
           R"([1, 2, [3, [], {}], {"a": [4]}])",
           R"({"k:,[": "v,]:{", "e\"[": [ "\\", null, true, false, -1.5e3 ], "o": {}})",
           " \n[\t[ [ ]\r]\n,{ \"x\" : [ ] } ] ",
           R"({"a":{"b":{"c":[{"d":[[1],[2,3]]}]}}})",
       }) {
    EXPECT_EQ(count_json_values(text, 1000), values_in(boost::json::parse(text))) << text;
  }
  EXPECT_EQ(count_json_values("[1,2,3,4,5,6]", 3), 4u);  // stops past the limit
}

TEST(JsonBody, ALargeBodyOfTooManyValuesIs413) {
  const auto zeros = [](std::size_t n) {
    std::string text = "[0";
    for (std::size_t i = 1; i < n; ++i) text += ",0";
    return text + "]";
  };
  // The array and its elements.
  EXPECT_TRUE(parse_json_body(request("application/json", zeros(kMaxJsonValues - 1))).is_array());
  try {
    parse_json_body(request("application/json", zeros(kMaxJsonValues)));
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), http::Status::payload_too_large);
    EXPECT_STREQ(e.what(),
                 "request body: more than 100000 JSON values (objects, arrays, strings, numbers "
                 "and literals)");
  }
}

TEST(JsonBody, DecodedValuesOutliveTheParseArena) {
  // Small enough for the stack arena, and far larger (it spills to the heap):
  // either way what `decode` returns must own its strings (ASan checks).
  for (const std::size_t size : {std::size_t{16}, std::size_t{200'000}}) {
    const std::string big(size, 'x');
    const auto body = R"({"p":{"type":"string","value":")" + big +
                      R"("},"m":{"type":"map","value":{"k":[")" + big + R"("]}}})";
    http::Request sent = request("application/json", body);
    const sdk::PropertyMap map = decode_json_body(sent, [](const boost::json::value& value) {
      return sdk::json::decode_property_map(value, "");
    });
    EXPECT_TRUE(sent.body().empty());  // freed once parsed
    EXPECT_EQ(map.find("p")->value().as_string(), big);
    EXPECT_EQ(map.find("m")->value().at("k").at(0).as_string(), big);
  }
}

TEST(JsonBody, DecodeJsonBodyRefusesLikeParse) {
  http::Request malformed = request("application/json", "{");
  EXPECT_THROW(decode_json_body(malformed, [](const boost::json::value&) { return 0; }), ApiError);
}

}  // namespace
}  // namespace flint::api
