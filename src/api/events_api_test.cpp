#include "api/events_api.hpp"

#include <filesystem>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "http/http_server.hpp"

namespace flint::api {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::ip::tcp;
using namespace std::chrono_literals;

events::OutboxEvent make_event(int n) {
  events::OutboxEvent event;
  event.seq = n;
  event.event_id = "id-" + std::to_string(n);
  event.topic = "lifecycle_execution_events";
  event.key = "request-" + std::to_string(n);
  event.tenant_id = n % 2 ? std::optional<std::string>("tenant-1") : std::nullopt;
  event.payload =
      R"({"requestId":"request-)" + std::to_string(n) +
      R"(","status":"COMPLETE","outputs":{},"associatedTopology":{},"version":"1.0.0"})";
  event.created_at = 1'700'000'000'123;
  return event;
}

std::vector<events::OutboxEvent> make_events(int from, int to) {
  std::vector<events::OutboxEvent> out;
  for (int n = from; n <= to; ++n) out.push_back(make_event(n));
  return out;
}

TEST(EventJsonTest, FormatsTimestampsInUtcWithMilliseconds) {
  EXPECT_EQ(iso8601_utc(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(iso8601_utc(1'700'000'000'123), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(iso8601_utc(1'709'210'096'007), "2024-02-29T12:34:56.007Z");
}

TEST(EventJsonTest, SplicesThePayloadVerbatim) {
  events::LoggedEvent logged{12, make_event(2), 0};
  logged.event.payload = R"({"requestId":"r","status":"FAILED","failureDetails":{"failureCode":)"
                         R"("INTERNAL_ERROR","description":"x"},"outputs":{"n":1.50},)"
                         R"("associatedTopology":{},"version":"1.0.0"})";
  EXPECT_EQ(event_json(logged),
            R"({"seq":12,"id":"id-2","topic":"lifecycle_execution_events","key":"request-2",)"
            R"("tenantId":null,"createdAt":"2023-11-14T22:13:20.123Z","payload":)" +
                logged.event.payload + "}");
}

TEST(EventJsonTest, IsValidJsonWhateverBytesWereStored) {
  // A tenant id an older Flint accepted in Latin-1: one bad byte would make
  // the whole page unreadable.
  events::LoggedEvent logged{3, make_event(3), 0};
  logged.event.tenant_id = "Soci\xe9t\xe9";
  logged.event.payload = "{\"a\":\"\xff\"}";
  const auto parsed = json::parse(event_json(logged));
  EXPECT_EQ(parsed.at("tenantId").as_string(), "Soci\uFFFDt\uFFFD");
  EXPECT_EQ(parsed.at("payload").as_string(), "{\"a\":\"\uFFFD\"}");
}

TEST(EventJsonTest, KeepsEveryEventOnOneLine) {
  events::LoggedEvent logged{1, make_event(1), 0};
  logged.event.key.reset();
  logged.event.payload = "{\n  \"b\": 1,\n  \"a\": \"x\"\n}";
  const std::string text = event_json(logged);
  EXPECT_EQ(text.find('\n'), std::string::npos);
  EXPECT_NE(text.find(R"("key":null,"tenantId":"tenant-1")"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("payload":{"b":1,"a":"x"})"), std::string::npos) << text;

  logged.event.payload = "not json\n";
  const auto parsed = json::parse(event_json(logged));
  EXPECT_EQ(parsed.at("payload").as_string(), "not json\n");
}

// A real HttpServer on an ephemeral port serving the event routes.
class EventsApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("flint-events-api-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    events::EventLogOptions log_options;
    log_options.path = dir_ / "events.db";
    log_options.max_events = 5;
    log_options.prune_interval = 0ms;
    log_ = std::make_unique<events::EventLog>(log_options);
  }

  void start(EventRoutesOptions options = {}) {
    add_event_routes(router_, *log_, options);
    http::ServerOptions server_options;
    server_options.port = 0;
    server_ = std::make_unique<http::HttpServer>(io_, server_options, router_, probe_);
    server_->start();
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    if (server_) {
      log_->stop_waiting();
      server_->begin_shutdown();
      server_->close_all();
      io_.stop();
      thread_.join();
      server_.reset();
    }
    std::filesystem::remove_all(dir_);
  }

  tcp::socket connect() {
    tcp::socket socket(client_io_);
    socket.connect(tcp::endpoint(asio::ip::address_v4::loopback(), server_->port()));
    // Blocking reads give up after 5 s rather than hang the test.
    timeval timeout{5, 0};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    return socket;
  }

  http::Response get(const std::string& target) {
    tcp::socket socket = connect();
    http::Request request(http::Method::get, target, 11);
    request.set(http::beast_http::field::host, "localhost");
    http::beast_http::write(socket, request);
    boost::beast::flat_buffer buffer;
    http::Response response;
    http::beast_http::read(socket, buffer, response);
    return response;
  }

  // Reads from `socket` until `text` has arrived (or the socket fails).
  static std::string read_until(tcp::socket& socket, std::string& received, std::string_view text) {
    char chunk[4096];
    while (received.find(text) == std::string::npos) {
      boost::system::error_code ec;
      const std::size_t n = socket.read_some(asio::buffer(chunk), ec);
      if (ec) break;
      received.append(chunk, n);
    }
    return received;
  }

  std::filesystem::path dir_;
  std::unique_ptr<events::EventLog> log_;
  prometheus::Registry registry_;
  http::HttpProbe probe_{registry_};
  http::Router router_;
  asio::io_context io_;
  asio::io_context client_io_;
  std::unique_ptr<http::HttpServer> server_;
  std::thread thread_;
};

TEST_F(EventsApiTest, ListsEventsAfterASequenceNumber) {
  log_->append(make_events(1, 3));
  start();
  const auto response = get("/api/events?after=1&limit=10");
  ASSERT_EQ(response.result(), http::Status::ok);
  EXPECT_EQ(response[http::beast_http::field::content_type], "application/json");
  const auto body = json::parse(response.body()).as_object();
  EXPECT_EQ(body.at("lastSeq").as_int64(), 3);
  const auto& list = body.at("events").as_array();
  ASSERT_EQ(list.size(), 2U);
  const auto& first = list[0].as_object();
  EXPECT_EQ(first.at("seq").as_int64(), 2);
  EXPECT_EQ(first.at("id").as_string(), "id-2");
  EXPECT_EQ(first.at("topic").as_string(), "lifecycle_execution_events");
  EXPECT_EQ(first.at("key").as_string(), "request-2");
  EXPECT_TRUE(first.at("tenantId").is_null());
  EXPECT_EQ(first.at("createdAt").as_string(), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(first.at("payload").at("requestId").as_string(), "request-2");
  EXPECT_EQ(list[1].at("tenantId").as_string(), "tenant-1");
  // The payload is spliced byte for byte.
  EXPECT_NE(response.body().find(make_event(2).payload), std::string::npos);

  const auto page = json::parse(get("/api/events?limit=1").body());
  ASSERT_EQ(page.at("events").as_array().size(), 1U);
  EXPECT_EQ(page.at("events").as_array()[0].at("seq").as_int64(), 1);
  const auto none = json::parse(get("/api/events?after=3").body());
  EXPECT_TRUE(none.at("events").as_array().empty());
  EXPECT_EQ(none.at("lastSeq").as_int64(), 3);
}

TEST_F(EventsApiTest, RejectsBadParametersNamingThem) {
  start();
  const std::pair<std::string, std::string> cases[] = {
      {"/api/events?after=-1", "after: expected an integer from 0 to 9223372036854775807"},
      {"/api/events?after=abc", "after: expected an integer from 0 to 9223372036854775807"},
      {"/api/events?after=", "after: expected an integer from 0 to 9223372036854775807"},
      {"/api/events?after=1&after=2", "after: given more than once"},
      {"/api/events?limit=0", "limit: expected an integer from 1 to 1000"},
      {"/api/events?limit=1001", "limit: expected an integer from 1 to 1000"},
      {"/api/events?wait=61", "wait: expected an integer number of seconds from 0 to 60"},
      {"/api/events?wait=1.5", "wait: expected an integer number of seconds from 0 to 60"},
      {"/api/events/stream?after=x", "after: expected an integer from 0 to 9223372036854775807"},
  };
  for (const auto& [target, message] : cases) {
    const auto response = get(target);
    EXPECT_EQ(response.result(), http::Status::bad_request) << target;
    const auto body = json::parse(response.body());
    EXPECT_EQ(body.at("localizedMessage").as_string(), message) << target;
    EXPECT_EQ(body.at("status").as_int64(), 400);
  }
  EXPECT_EQ(get("/api/events?unknown=1").result(), http::Status::ok);  // ignored
}

TEST_F(EventsApiTest, LongPollAnswersWhenAnEventArrives) {
  log_->append(make_events(1, 1));
  start();
  // Timed from before the writer starts: its append cannot come sooner.
  const auto started = std::chrono::steady_clock::now();
  std::thread writer([this] {
    std::this_thread::sleep_for(150ms);
    log_->append(make_events(2, 2));
  });
  const auto response = get("/api/events?after=1&wait=10");
  const auto took = std::chrono::steady_clock::now() - started;
  writer.join();
  const auto body = json::parse(response.body());
  ASSERT_EQ(body.at("events").as_array().size(), 1U);
  EXPECT_EQ(body.at("events").as_array()[0].at("seq").as_int64(), 2);
  EXPECT_GE(took, 150ms);
  EXPECT_LT(took, 3s);
}

TEST_F(EventsApiTest, LongPollTimesOutEmpty) {
  log_->append(make_events(1, 2));
  start();
  const auto started = std::chrono::steady_clock::now();
  const auto body = json::parse(get("/api/events?after=2&wait=1").body());
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_TRUE(body.at("events").as_array().empty());
  EXPECT_EQ(body.at("lastSeq").as_int64(), 2);
  EXPECT_GE(took, 1s);
  EXPECT_LT(took, 3s);
}

TEST_F(EventsApiTest, AReaderBehindRetentionStartsAtTheOldestKept) {
  log_->append(make_events(1, 8));
  log_->prune();  // keeps 4..8
  start();
  const auto body = json::parse(get("/api/events?after=1").body());
  const auto& list = body.at("events").as_array();
  ASSERT_EQ(list.size(), 5U);
  EXPECT_EQ(list[0].at("seq").as_int64(), 4);
}

TEST_F(EventsApiTest, PagesNotYetWrittenShareOneBudget) {
  // Outcomes of 1.5 MiB: a page of four is larger than the socket buffers, so a
  // reader that does not read holds it, and its share of the budget, at the server.
  std::vector<events::OutboxEvent> big = make_events(1, 4);
  for (auto& event : big) {
    event.payload = R"({"requestId":"r","pad":")" + std::string(3 << 19, 'x') + R"("})";
  }
  log_->append(big);
  EventRoutesOptions options;
  options.max_page_bytes = 6 << 20;
  options.pages_budget_bytes = 6 << 20;
  start(options);
  const auto events_in = [](const http::Response& response) {
    return json::parse(response.body()).at("events").as_array().size();
  };
  EXPECT_EQ(events_in(get("/api/events?limit=10")), 4U);

  tcp::socket stalled = connect();
  const int small = 4096;
  ::setsockopt(stalled.native_handle(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  const std::string request = "GET /api/events?limit=10 HTTP/1.1\r\nHost: localhost\r\n\r\n";
  asio::write(stalled, asio::buffer(request));
  // While its page waits, another reader gets a page cut short (one event at least)...
  bool cut = false;
  for (int i = 0; i < 50 && !cut; ++i) {
    cut = events_in(get("/api/events?limit=10")) == 1;
    if (!cut) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(cut) << "no page was cut while another held the budget";
  // ... and a whole page again once the stalled one is gone.
  stalled.close();
  bool whole = false;
  for (int i = 0; i < 250 && !whole; ++i) {
    whole = events_in(get("/api/events?limit=10")) == 4;
    if (!whole) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(whole) << "the stalled page's share was not given back";
}

TEST_F(EventsApiTest, StreamsServerSentEventsAndResumes) {
  log_->append(make_events(1, 3));
  EventRoutesOptions options;
  options.keep_alive = 200ms;
  options.stop_check = 50ms;
  start(options);

  tcp::socket socket = connect();
  // Last-Event-ID wins over `after`.
  const std::string request =
      "GET /api/events/stream?after=0 HTTP/1.1\r\nHost: localhost\r\nLast-Event-ID: 1\r\n\r\n";
  asio::write(socket, asio::buffer(request));
  std::string received;
  read_until(socket, received, "id: 3\n");
  EXPECT_EQ(received.rfind("HTTP/1.1 200 OK\r\n", 0), 0U) << received;
  EXPECT_NE(received.find("Content-Type: text/event-stream\r\n"), std::string::npos);
  EXPECT_NE(received.find("Cache-Control: no-cache\r\n"), std::string::npos);
  EXPECT_EQ(received.find("id: 1\n"), std::string::npos) << "resumed after Last-Event-ID";
  const std::string second =
      "id: 2\nevent: lifecycle_execution_events\ndata: " + event_json(log_->read(1, 1).at(0)) +
      "\n\n";
  EXPECT_NE(received.find(second), std::string::npos) << received;

  // A new event is pushed at once; an idle stream sends keep-alives.
  log_->append(make_events(4, 4));
  read_until(socket, received, "id: 4\n");
  EXPECT_NE(received.find("id: 4\nevent: lifecycle_execution_events\ndata: {\"seq\":4,"),
            std::string::npos);
  read_until(socket, received, ": keep-alive\n\n");
  EXPECT_NE(received.find(": keep-alive\n\n"), std::string::npos);

  // The stream ends promptly when the server stops.
  const auto stopping = std::chrono::steady_clock::now();
  server_->begin_shutdown();
  char sink[256];
  boost::system::error_code ec;
  while (!ec) socket.read_some(asio::buffer(sink), ec);
  EXPECT_EQ(ec, asio::error::eof) << ec.message();
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, 2s);
}

}  // namespace
}  // namespace flint::api
