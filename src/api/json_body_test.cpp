#include "api/json_body.hpp"

#include <gtest/gtest.h>

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
  EXPECT_EQ(status_of_parse(request("application/json", "")), http::Status::bad_request);
}

}  // namespace
}  // namespace flint::api
