#include "api/json_route.hpp"

#include <chrono>
#include <new>
#include <sstream>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <flint/sdk/errors.hpp>
#include <flint/sdk/infrastructure.hpp>

#include "drivers/driver_executor.hpp"
#include "drivers/retry_later_error.hpp"
#include "logging/logging.hpp"

namespace flint::api {
namespace {

namespace asio = boost::asio;

// A route whose command is the body's "id", and whose service call answers
// with the id and the tenant, or throws the error kind named by the id.
class JsonRouteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    add_json_post_route(
        router_, "/api/test", http::Status::accepted,
        [](const boost::json::value& value) { return required_string(body_object(value), "id"); },
        [this](std::string id,
               service::CallOrigin origin) -> asio::awaitable<sdk::InfrastructureTaskAccepted> {
          seen_body_ = *last_body_;
          if (auto kind = sdk::parse_error_kind(id)) sdk::raise_error(*kind, "failed: " + id);
          if (id == "out_of_memory") throw std::bad_alloc();
          if (id == "saturated") throw drivers::CallRejected("driver calls are saturated");
          if (id == "breaker") {
            throw drivers::RetryLaterError("breaker open", std::chrono::milliseconds(29'001));
          }
          co_return sdk::InfrastructureTaskAccepted{id, origin.tenant_id};
        });
  }

  http::Response post(std::string body, std::string content_type = "application/json") {
    http::Request request(http::Method::post, "/api/test", 11);
    if (!content_type.empty()) request.set(http::beast_http::field::content_type, content_type);
    request.set("tenantId", "t-1");
    request.body() = std::move(body);
    auto context = http::RequestContext::from(request);
    const auto match = router_.find(http::Method::post, "/api/test");
    EXPECT_NE(match.handler, nullptr);
    context.route = match.route;
    context.path = "/api/test";
    last_body_ = &request.body();
    asio::io_context io;
    auto future = asio::co_spawn(io, (*match.handler)(request, context), asio::use_future);
    io.run();
    return future.get();
  }

  static std::string message(const http::Response& response) {
    return std::string(boost::json::parse(response.body()).at("localizedMessage").as_string());
  }

  http::Router router_;
  const std::string* last_body_ = nullptr;
  // The request body as the service call saw it.
  std::string seen_body_ = "unset";
};

TEST_F(JsonRouteTest, AnswersTheEncodedResultWithTheRouteStatus) {
  const auto response = post(R"({"id": "abc", "extra": 1})");
  EXPECT_EQ(response.result(), http::Status::accepted);
  EXPECT_EQ(response[http::beast_http::field::content_type], "application/json");
  const auto body = boost::json::parse(response.body());
  EXPECT_EQ(body.at("infrastructureId"), "abc");
  // The tenant came from the request's context.
  EXPECT_EQ(body.at("requestId"), "t-1");
}

TEST_F(JsonRouteTest, WrongContentTypeIs415AndMalformedJsonIs400) {
  EXPECT_EQ(post(R"({"id": "abc"})", "text/plain").result(), http::Status::unsupported_media_type);
  const auto response = post(R"({"id": )");
  EXPECT_EQ(response.result(), http::Status::bad_request);
  EXPECT_NE(message(response).find("malformed JSON"), std::string::npos) << message(response);
}

TEST_F(JsonRouteTest, DecodeErrorsNameTheField) {
  const auto response = post(R"({"id": ""})");
  EXPECT_EQ(response.result(), http::Status::bad_request);
  EXPECT_EQ(message(response), "id: must not be empty");
  EXPECT_EQ(message(post("[]")), "request body: expected a JSON object");
}

TEST_F(JsonRouteTest, ServiceErrorsAreMappedByKind) {
  for (const auto& [kind, status] :
       {std::pair{"invalid_template", http::Status::bad_request},
        std::pair{"infrastructure_not_found", http::Status::bad_request},
        std::pair{"request_not_found", http::Status::bad_request},
        std::pair{"unreachable_location", http::Status::bad_request},
        std::pair{"not_found", http::Status::bad_request},
        std::pair{"already_exists", http::Status::bad_request},
        std::pair{"conflict", http::Status::bad_request},
        std::pair{"unauthorized", http::Status::bad_request},
        std::pair{"not_implemented", http::Status::bad_request},
        std::pair{"temporary", http::Status::service_unavailable},
        std::pair{"driver", http::Status::internal_server_error}}) {
    const auto response = post(std::string(R"({"id": ")") + kind + "\"}");
    EXPECT_EQ(response.result(), status) << kind;
    EXPECT_EQ(message(response), std::string("failed: ") + kind);
    EXPECT_EQ(boost::json::parse(response.body()).at("status").as_int64(),
              static_cast<int>(status));
  }
}

TEST_F(JsonRouteTest, OutOfMemoryIs503RetryLater) {
  // The host's own shortage passes: the request is not at fault (a 500 is).
  const auto response = post(R"({"id": "out_of_memory"})");
  EXPECT_EQ(response.result(), http::Status::service_unavailable);
  EXPECT_NE(message(response).find("out of memory"), std::string::npos) << message(response);
}

TEST_F(JsonRouteTest, Every503SaysWhenToRetry) {
  for (const char* id : {"temporary", "out_of_memory"}) {
    const auto response = post(std::string(R"({"id": ")") + id + "\"}");
    EXPECT_EQ(response.result(), http::Status::service_unavailable) << id;
    EXPECT_EQ(response[http::beast_http::field::retry_after], "1") << id;
  }
  // A refusal that knows when it ends says so, in whole seconds rounded up.
  const auto breaker = post(R"({"id": "breaker"})");
  EXPECT_EQ(breaker.result(), http::Status::service_unavailable);
  EXPECT_EQ(breaker[http::beast_http::field::retry_after], "30");
  // Other errors say nothing of retrying.
  EXPECT_EQ(post(R"({"id": "driver"})").count(http::beast_http::field::retry_after), 0U);
}

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t found = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++found;
  return found;
}

TEST_F(JsonRouteTest, RefusalsThatNeverReachedADriverAreLoggedOncePerIntervalAtWarn) {
  std::ostringstream out;
  logging::configure({.level = "info"}, std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  for (int i = 0; i < 5; ++i) {
    const auto response = post(R"({"id": "saturated"})");
    EXPECT_EQ(response.result(), http::Status::service_unavailable);
    EXPECT_EQ(message(response), "driver calls are saturated");
  }
  post(R"({"id": "temporary"})");
  logging::flush();
  const std::string text = out.str();
  // One line for five refusals (the other four are counted on the next line,
  // ten seconds on); any other 5xx still gets a line at error.
  EXPECT_EQ(count(text, "refused with 503: driver calls are saturated"), 1U) << text;
  EXPECT_EQ(count(text, "WARN"), 1U) << text;
  EXPECT_EQ(count(text, "ERROR"), 1U) << text;
  EXPECT_NE(text.find("refused with 503: failed: temporary"), std::string::npos) << text;

  // Refusals by an open breaker likewise (its own throttle: another test may
  // have used it within the interval, so at most one line).
  out.str("");
  for (int i = 0; i < 5; ++i) post(R"({"id": "breaker"})");
  logging::flush();
  EXPECT_LE(count(out.str(), "refused with 503: breaker open"), 1U) << out.str();
  EXPECT_EQ(count(out.str(), "ERROR"), 0U) << out.str();
  logging::configure({});
}

TEST_F(JsonRouteTest, FreesTheBodyBeforeCallingTheService) {
  post(R"({"id": "abc"})");
  EXPECT_EQ(seen_body_, "");
}

}  // namespace
}  // namespace flint::api
