#include "api/events_api.hpp"

#include <algorithm>
#include <atomic>
#include <memory>
#include <optional>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <fmt/format.h>

#include <flint/sdk/json.hpp>

#include "api/api_error.hpp"
#include "http/error_response.hpp"
#include "logging/logging.hpp"

namespace flint::api {
namespace {

using boost::asio::awaitable;
namespace json = boost::json;

std::shared_ptr<spdlog::logger> log() {
  static const auto logger = logging::logger("api");
  return logger;
}

// A page past the budget is cut to this (after one event at least).
constexpr std::size_t kMinPageBytes = 64 << 10;

// Bytes of event pages built and not yet written, across connections: a
// thousand outcomes of half a megabyte would make one reply of half a
// gigabyte, and a reader that does not read its reply holds it until
// http.read_timeout; many such readers must not take the server's memory.
struct PageBudget {
  std::size_t total;
  std::atomic<std::size_t> used{0};
};

// One page's share of the budget, held until the page is written.
class PageShare {
 public:
  PageShare(std::shared_ptr<PageBudget> budget, std::size_t most) : budget_(std::move(budget)) {
    const std::size_t used = budget_->used.load();
    const std::size_t left = used < budget_->total ? budget_->total - used : 0;
    bytes_ = std::clamp(left, std::min(kMinPageBytes, most), most);
    budget_->used += bytes_;
  }
  PageShare(const PageShare&) = delete;
  PageShare& operator=(const PageShare&) = delete;
  ~PageShare() { budget_->used -= bytes_; }

  std::size_t bytes() const { return bytes_; }
  // What the page really holds: past its share by up to one event.
  void resize(std::size_t bytes) {
    budget_->used += bytes;
    budget_->used -= bytes_;
    bytes_ = bytes;
  }

 private:
  std::shared_ptr<PageBudget> budget_;
  std::size_t bytes_ = 0;
};
// How often a long poll checks that its client is still there.
constexpr auto kWaitSlice = std::chrono::seconds(1);

// A page of the log. A log that cannot be read (a damaged file) is a 500
// that says which part failed; the detail, naming the file, goes to the
// server log (and to the events vital, through `EventLog::read_error`).
std::vector<events::LoggedEvent> read_page(const events::EventLog& events_log, std::int64_t after,
                                           std::size_t limit, std::size_t max_bytes) {
  try {
    return events_log.read(after, limit, max_bytes);
  } catch (const std::exception& e) {
    log()->error("the event log cannot be read: {}", e.what());
    throw ApiError(http::Status::internal_server_error,
                   "the event log cannot be read; see the server log");
  }
}
// After a restore from a backup, numbers past the backup are assigned again,
// to other events: a reader resuming by number alone would skip them. The
// event kept at its position tells (`afterId`).
void check_reader_position(const events::EventLog& events_log, std::int64_t after,
                           const std::string& seen_id) {
  std::optional<std::string> kept;
  try {
    kept = events_log.event_id_at(after);
  } catch (const std::exception& e) {
    log()->error("the event log cannot be read: {}", e.what());
    throw ApiError(http::Status::internal_server_error,
                   "the event log cannot be read; see the server log");
  }
  // Not kept and not yet assigned: the log is behind the reader. Not kept
  // but assigned: retention removed it, as it does for any slow reader.
  const bool behind = !kept && after > events_log.last_seq();
  if (behind || (kept && *kept != seen_id)) {
    throw ApiError(http::Status::conflict,
                   fmt::format("afterId: the event log does not hold event {} at sequence {} "
                               "(it was restored from a backup or replaced): read again from "
                               "after=0 and skip the event ids you have",
                               sdk::json::printable(seen_id, 64), after));
  }
}

// Valid UTF-8 whatever the stored bytes (a tenant id kept by an older Flint
// may not be): one bad byte would make the whole page unreadable as JSON.
std::string json_quoted(std::string_view text) {
  json::value quoted = json::string(text);
  if (!sdk::json::is_valid_utf8(text)) sdk::json::repair_utf8(quoted);
  return json::serialize(quoted);
}

std::string json_quoted_or_null(const std::optional<std::string>& text) {
  return text ? json_quoted(*text) : std::string("null");
}

// SSE fields end at a line break: keep the topic on its line.
std::string one_line(std::string text) {
  std::replace_if(
      text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return text;
}

std::string sse_chunk(const std::vector<events::LoggedEvent>& events) {
  std::string chunk;
  for (const auto& event : events) {
    chunk += fmt::format("id: {}\nevent: {}\ndata: {}\n\n", event.seq, one_line(event.event.topic),
                         event_json(event));
  }
  return chunk;
}

awaitable<http::Response> list_events(events::EventLog& log, EventRoutesOptions options,
                                      std::shared_ptr<PageBudget> budget,
                                      const http::Request& request, http::RequestContext& context) {
  EventsQuery query;
  try {
    query = parse_events_query(std::string_view(request.target().data(), request.target().size()),
                               options);
    if (query.position.seen_id) {
      check_reader_position(log, query.position.after, *query.position.seen_id);
    }
  } catch (const ApiError& e) {
    co_return http::error_response(e.status(), e.what(), request.version(), request.keep_alive());
  }
  const std::int64_t after = query.position.after;
  const auto started = std::chrono::steady_clock::now();
  // Read the last seq before the events: an append in between is then either
  // in the read or beyond what the wait below waits for.
  std::int64_t last = log.last_seq();
  auto share = std::make_shared<PageShare>(budget, options.max_page_bytes);
  auto events = read_page(log, after, static_cast<std::size_t>(query.limit), share->bytes());
  if (events.empty()) share->resize(0);  // a long poll holds no memory while it waits
  // In slices: a client gone meanwhile stops holding its connection (and
  // its place under http.max_connections) until the wait ends.
  const auto deadline = started + std::chrono::seconds(query.wait);
  for (bool waiting = events.empty() && query.wait > 0; waiting;) {
    const auto slice = std::min(deadline, std::chrono::steady_clock::now() + kWaitSlice);
    // Waiting beyond `last` too: an `after` older than retention with an
    // empty log must not turn the long poll into a busy loop.
    if (co_await log.wait_after(std::max(after, last), slice)) {
      last = log.last_seq();
      share = std::make_shared<PageShare>(budget, options.max_page_bytes);
      events = read_page(log, after, static_cast<std::size_t>(query.limit), share->bytes());
      break;
    }
    waiting = slice < deadline && !log.waits_stopped() && !context.peer_closed();
  }
  last = std::max(log.last_seq(), events.empty() ? 0 : events.back().seq);

  std::string body = R"({"events":[)";
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i > 0) body += ',';
    body += event_json(events[i]);
  }
  body += fmt::format(R"(],"lastSeq":{}}})", last);
  share->resize(body.size());
  context.keep_until_sent = std::move(share);
  co_return http::json_response(http::Status::ok, std::move(body), request.version(),
                                request.keep_alive());
}

awaitable<void> stream_events(events::EventLog& log, EventRoutesOptions options,
                              std::shared_ptr<PageBudget> budget, std::int64_t cursor,
                              http::StreamWriter& writer) {
  constexpr std::size_t kPage = 256;
  auto last_write = std::chrono::steady_clock::now();
  while (writer.open() && !log.waits_stopped()) {
    const std::int64_t last = log.last_seq();
    PageShare share(budget, options.max_page_bytes);
    auto events = read_page(log, cursor, kPage, share.bytes());
    if (!events.empty()) {
      const std::string chunk = sse_chunk(events);  // named: GCC 12 co_await temporaries
      share.resize(chunk.size());
      if (!co_await writer.send(chunk)) co_return;
      cursor = events.back().seq;
      last_write = std::chrono::steady_clock::now();
      continue;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_write >= options.keep_alive) {
      if (!co_await writer.send(": keep-alive\n\n")) co_return;
      last_write = now;
      continue;
    }
    // Wake for a new event, the next keep-alive, or a periodic look at
    // whether the server is stopping (nothing else would wake us then).
    co_await log.wait_after(std::max(cursor, last),
                            std::min(now + options.stop_check, last_write + options.keep_alive));
  }
}

awaitable<http::Response> open_stream(events::EventLog& log, EventRoutesOptions options,
                                      std::shared_ptr<PageBudget> budget,
                                      const http::Request& request, http::RequestContext& context) {
  std::int64_t cursor = 0;
  try {
    std::optional<std::string_view> last_event_id;
    if (const auto header = request.find("Last-Event-ID"); header != request.end())
      last_event_id = std::string_view(header->value());
    const ReaderPosition start = parse_stream_start(
        std::string_view(request.target().data(), request.target().size()), last_event_id);
    if (start.seen_id) check_reader_position(log, start.after, *start.seen_id);
    cursor = start.after;
  } catch (const ApiError& e) {
    co_return http::error_response(e.status(), e.what(), request.version(), request.keep_alive());
  }
  http::Response head(http::Status::ok, request.version());
  head.set(http::beast_http::field::content_type, "text/event-stream");
  head.set(http::beast_http::field::cache_control, "no-cache");
  // Reverse proxies must pass events on as they come.
  head.set("X-Accel-Buffering", "no");
  context.stream = [&log, options, budget = std::move(budget), cursor](http::StreamWriter& writer) {
    return stream_events(log, options, budget, cursor, writer);
  };
  co_return head;
}

}  // namespace

std::string event_json(const events::LoggedEvent& logged) {
  const events::OutboxEvent& event = logged.event;
  std::string payload;
  json::error_code ec;
  const json::value parsed = sdk::json::parse_stored(event.payload, ec);
  if (ec) {
    // Never emit invalid JSON: show the text as a string instead.
    log()->warn("event {} (seq {}) has a payload that is not JSON: {}", event.event_id, logged.seq,
                ec.message());
    payload = json_quoted(event.payload);
  } else if (event.payload.find_first_of("\r\n") != std::string::npos) {
    payload = json::serialize(parsed);  // one line, same keys in the same order
  } else {
    payload = event.payload;  // verbatim
  }
  return fmt::format(
      R"({{"seq":{},"id":{},"topic":{},"key":{},"tenantId":{},"createdAt":"{}","payload":{}}})",
      logged.seq, json_quoted(event.event_id), json_quoted(event.topic),
      json_quoted_or_null(event.key), json_quoted_or_null(event.tenant_id),
      iso8601_utc(event.created_at), payload);
}

void add_event_routes(http::Router& router, events::EventLog& log, EventRoutesOptions options) {
  auto budget = std::make_shared<PageBudget>(options.pages_budget_bytes);
  router.add(http::Method::get, "/api/events",
             [&log, options, budget](http::Request& request,
                                     http::RequestContext& context) -> awaitable<http::Response> {
               std::optional<http::Response> answer;
               try {
                 answer = co_await list_events(log, options, budget, request, context);
               } catch (const ApiError&) {
                 answer = current_exception_response(request.version(), request.keep_alive());
               }
               co_return std::move(*answer);
             });
  router.add(http::Method::get, "/api/events/stream",
             [&log, options, budget](http::Request& request,
                                     http::RequestContext& context) -> awaitable<http::Response> {
               return open_stream(log, options, budget, request, context);
             });
}

}  // namespace flint::api
