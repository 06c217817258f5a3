#include "flint_api.hpp"

#include <algorithm>
#include <cctype>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/pchars.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <flint/sdk/json.hpp>

namespace flint::cli {
namespace {

constexpr std::chrono::seconds kCallTimeout{30};
// A long poll may legitimately take `wait`; allow the server some slack.
constexpr std::chrono::seconds kLongPollSlack{15};

boost::json::value parse_body(const HttpResponse& response, std::string_view call) {
  boost::system::error_code error;
  auto value = sdk::json::parse_stored(response.body, error);
  if (error) {
    throw ApiError(0, std::string(call) + ": the reply is not JSON (" + error.message() + ")");
  }
  return value;
}

[[noreturn]] void fail(const HttpClient& http, const HttpResponse& response,
                       std::string_view call) {
  // The server's message names the header; the client's way to send it is an
  // option. A token that was sent and refused needs another token, not a hint.
  std::string_view hint;
  if (response.status == 401 && !http.sends_token()) {
    hint = " (give the token's file with --token-file)";
  } else if (response.status == 404) {
    // A whole API missing: most likely switched off on that server.
    if (call.find(" /api/infrastructure/") != std::string_view::npos) {
      hint =
          " (this server serves no Infrastructure API: is it a Flint with "
          "bootstrap.infrastructure.api_enabled true?)";
    } else if (call.find(" /api/driver/") != std::string_view::npos) {
      hint =
          " (this server serves no Resource Driver API: is it a Flint with "
          "bootstrap.resource_driver.api_enabled true?)";
    }
  }
  throw ApiError(response.status, std::string(call) + ": " + std::to_string(response.status) +
                                      ": " + error_text(response) + std::string(hint));
}

// `POST path` with a JSON body; the reply must have `status` and be a JSON
// object, returned.
boost::json::object post_for_object(HttpClient& http, std::string_view path,
                                    const boost::json::object& request,
                                    const std::optional<std::string>& tenant_id, unsigned status,
                                    std::chrono::milliseconds timeout) {
  const std::string call = "POST " + std::string(path);
  HttpClient::Headers headers;
  if (tenant_id) headers.emplace_back("tenantId", *tenant_id);
  auto response = http.post_json(path, boost::json::serialize(request), headers, timeout);
  if (response.status != status) fail(http, response, call);
  auto body = parse_body(response, call);
  if (!body.is_object()) throw ApiError(0, call + ": expected a JSON object");
  return std::move(body.as_object());
}

void require_non_empty_string(const boost::json::object& body, std::string_view field,
                              std::string_view call) {
  const auto* value = body.if_contains(field);
  if (!value || !value->is_string() || value->as_string().empty()) {
    throw ApiError(0,
                   std::string(call) + ": " + std::string(field) + ": expected a non-empty string");
  }
}

// Runs `post`, a call that starts work on the server. Without its reply the
// request's id is unknown here, though the server may have accepted it: a
// user who runs the command again would start the work twice.
template <class Post>
auto starting(const Post& post) {
  try {
    return post();
  } catch (const NoReplyError& e) {
    throw NoReplyError(std::string(e.what()) +
                       "; the server may have accepted the request all the same (look for it "
                       "with flint events before running it again)");
  }
}

// The 202 reply of an infrastructure create or delete.
boost::json::object accepted_task(HttpClient& http, std::string_view path,
                                  const boost::json::object& request,
                                  const std::optional<std::string>& tenant_id,
                                  std::chrono::milliseconds timeout) {
  auto body =
      starting([&] { return post_for_object(http, path, request, tenant_id, 202, timeout); });
  for (const char* field : {"infrastructureId", "requestId"}) {
    require_non_empty_string(body, field, "POST " + std::string(path));
  }
  return body;
}

// The `result` of a find reply (`{"result": {...}}` or `{"result": null}`).
boost::json::value find_result(HttpClient& http, std::string_view path,
                               const boost::json::object& request,
                               const std::optional<std::string>& tenant_id,
                               std::chrono::milliseconds timeout) {
  const std::string call = "POST " + std::string(path);
  const auto body = post_for_object(http, path, request, tenant_id, 200, timeout);
  const auto* result = body.if_contains("result");
  if (!result) throw ApiError(0, call + ": result: missing");
  if (!result->is_null() && !result->is_object()) {
    throw ApiError(0, call + ": result: expected an object or null");
  }
  return *result;
}

std::uint64_t to_seq(const boost::json::value& value, std::string_view field) {
  if (value.is_uint64()) return value.get_uint64();
  if (value.is_int64() && value.get_int64() >= 0)
    return static_cast<std::uint64_t>(value.get_int64());
  throw ApiError(0, "GET /api/events: " + std::string(field) +
                        ": expected a non-negative integer, got " + boost::json::serialize(value));
}

}  // namespace

std::string error_text(const HttpResponse& response) {
  boost::system::error_code error;
  auto value = sdk::json::parse_stored(response.body, error);
  if (!error && value.is_object()) {
    if (auto* message = value.as_object().if_contains("localizedMessage");
        message && message->is_string() && !message->as_string().empty()) {
      return std::string(message->as_string());
    }
  }
  std::string_view body = response.body;
  while (!body.empty() && std::isspace(static_cast<unsigned char>(body.front())))
    body.remove_prefix(1);
  body = body.substr(0, body.find('\n'));
  while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back())))
    body.remove_suffix(1);
  if (!body.empty()) {
    if (body.size() > 200) return std::string(body.substr(0, 200)) + "...";
    return std::string(body);
  }
  if (!response.reason.empty()) return response.reason;
  return "HTTP status " + std::to_string(response.status);
}

EventLogPosition EventsPage::next(const EventLogPosition& from) const {
  // Never jump to lastSeq past events the page did not include (a limit).
  if (!events.empty()) return {events.back().seq, events.back().id};
  if (last_seq > from.seq) return {last_seq, {}};
  return from;
}

EventsPage parse_events_page(const boost::json::value& body) {
  if (!body.is_object()) throw ApiError(0, "GET /api/events: expected a JSON object");
  const auto& object = body.as_object();
  EventsPage page;
  const auto* last_seq = object.if_contains("lastSeq");
  if (!last_seq) throw ApiError(0, "GET /api/events: lastSeq: missing");
  page.last_seq = to_seq(*last_seq, "lastSeq");
  const auto* events = object.if_contains("events");
  if (!events) throw ApiError(0, "GET /api/events: events: missing");
  if (!events->is_array()) throw ApiError(0, "GET /api/events: events: expected an array");
  std::size_t index = 0;
  for (const auto& item : events->as_array()) {
    const std::string path = "events[" + std::to_string(index++) + "]";
    if (!item.is_object()) throw ApiError(0, "GET /api/events: " + path + ": expected an object");
    Event event;
    event.raw = item.as_object();
    const auto* seq = event.raw.if_contains("seq");
    if (!seq) throw ApiError(0, "GET /api/events: " + path + ".seq: missing");
    event.seq = to_seq(*seq, path + ".seq");
    if (const auto* id = event.raw.if_contains("id"); id && id->is_string()) {
      event.id = std::string(id->as_string());
    }
    if (const auto* topic = event.raw.if_contains("topic"); topic && topic->is_string()) {
      event.topic = std::string(topic->as_string());
    }
    if (const auto* key = event.raw.if_contains("key"); key && key->is_string()) {
      event.key = std::string(key->as_string());
    }
    if (const auto* payload = event.raw.if_contains("payload"); payload && payload->is_object()) {
      event.payload = payload->as_object();
      if (const auto* id = event.payload.if_contains("requestId"); id && id->is_string()) {
        event.request_id = std::string(id->as_string());
      }
    }
    page.events.push_back(std::move(event));
  }
  return page;
}

boost::json::object FlintApi::execute(const boost::json::object& request,
                                      const std::optional<std::string>& tenant_id) {
  constexpr std::string_view call = "POST /api/driver/lifecycle/execute";
  HttpClient::Headers headers;
  if (tenant_id) headers.emplace_back("tenantId", *tenant_id);
  auto response = starting([&] {
    return http_.post_json("/api/driver/lifecycle/execute", boost::json::serialize(request),
                           headers, bounded(kCallTimeout));
  });
  if (response.status != 202 && response.status != 200) fail(http_, response, call);
  auto body = parse_body(response, call);
  if (!body.is_object()) throw ApiError(0, std::string(call) + ": expected a JSON object");
  const auto* id = body.as_object().if_contains("requestId");
  if (!id || !id->is_string() || id->as_string().empty()) {
    throw ApiError(0, std::string(call) + ": requestId: expected a non-empty string");
  }
  return std::move(body.as_object());
}

boost::json::value FlintApi::find(const boost::json::object& request) {
  return find_result(http_, "/api/driver/references/find", request, std::nullopt,
                     bounded(kCallTimeout));
}

EventsPage FlintApi::events(const EventLogPosition& after, std::size_t limit,
                            std::chrono::seconds wait) {
  std::string target = "/api/events?after=" + std::to_string(after.seq);
  if (!after.id.empty())
    target += "&afterId=" + boost::urls::encode(after.id, boost::urls::unreserved_chars);
  target += "&limit=" + std::to_string(limit) + "&wait=" + std::to_string(wait.count());
  auto response = http_.get(target, bounded(wait + kLongPollSlack));
  if (response.status == 404) {
    // Most likely a Flint whose event log is off (its events go to Kafka only).
    throw ApiError(404, "GET /api/events: 404: " + error_text(response) +
                            " (this server serves no event log: is it a Flint with "
                            "events.log.enabled and bootstrap.events.api_enabled true, and a "
                            "driver API on?)");
  }
  if (response.status != 200) fail(http_, response, "GET /api/events");
  return parse_events_page(parse_body(response, "GET /api/events"));
}

std::uint64_t FlintApi::head_seq() {
  return events({}, 1, std::chrono::seconds(0)).last_seq;
}

std::optional<boost::json::object> FlintApi::execution(std::string_view request_id) {
  try {
    return execution_record(request_id);
  } catch (const ApiError& e) {
    if (e.status() == 404) return std::nullopt;
    throw;
  }
}

std::optional<boost::json::object> FlintApi::execution_record(std::string_view request_id) {
  const std::string call = "GET /api/driver/lifecycle/executions/" + std::string(request_id);
  const std::string target =
      "/api/driver/lifecycle/executions/" + boost::urls::encode(request_id, boost::urls::pchars);
  auto response = http_.get(target, bounded(kCallTimeout));
  // The contract answers an unknown request with 400 (not 404).
  if (response.status == 400) return std::nullopt;
  if (response.status != 200) fail(http_, response, call);
  auto body = parse_body(response, call);
  if (!body.is_object()) throw ApiError(0, call + ": expected a JSON object");
  return std::move(body.as_object());
}

FlintApi::ExecutionsPage FlintApi::monitored_executions(const std::optional<std::string>& after,
                                                        std::size_t limit) {
  const std::string call = "GET /api/driver/lifecycle/executions";
  std::string target = "/api/driver/lifecycle/executions?limit=" + std::to_string(limit);
  if (after) target += "&after=" + boost::urls::encode(*after, boost::urls::unreserved_chars);
  auto response = http_.get(target, bounded(kCallTimeout));
  if (response.status != 200) fail(http_, response, call);
  auto body = parse_body(response, call);
  if (!body.is_object()) throw ApiError(0, call + ": expected a JSON object");
  auto& object = body.as_object();
  const auto* executions = object.if_contains("executions");
  if (!executions || !executions->is_array()) {
    throw ApiError(0, call + ": executions: expected an array");
  }
  ExecutionsPage page;
  std::size_t index = 0;
  for (const auto& record : executions->get_array()) {
    if (!record.is_object()) {
      throw ApiError(0, call + ": executions[" + std::to_string(index) + "]: expected an object");
    }
    page.executions.push_back(record.get_object());
    ++index;
  }
  const auto* next = object.if_contains("next");
  if (!next || !(next->is_null() || next->is_string())) {
    throw ApiError(0, call + ": next: expected a string or null");
  }
  if (next->is_string()) page.next = std::string(next->get_string());
  return page;
}

boost::json::object FlintApi::drivers() {
  const std::string call = "GET /api/drivers";
  auto response = http_.get("/api/drivers", bounded(kCallTimeout));
  if (response.status != 200) fail(http_, response, call);
  auto body = parse_body(response, call);
  if (!body.is_object()) throw ApiError(0, call + ": expected a JSON object");
  return std::move(body.as_object());
}

FlintApi::Health FlintApi::health() {
  const std::string call = "GET /management/health";
  auto response = http_.get("/management/health", bounded(kCallTimeout));
  if (response.status != 200 && response.status != 503) fail(http_, response, call);
  auto body = parse_body(response, call);
  if (!body.is_object() || !body.as_object().contains("vitals") ||
      !body.as_object().at("vitals").is_object()) {
    throw ApiError(0, call + ": expected a JSON object with \"vitals\"");
  }
  return {.healthy = response.status == 200, .body = std::move(body.as_object())};
}

boost::json::object FlintApi::create_infrastructure(const boost::json::object& request,
                                                    const std::optional<std::string>& tenant_id) {
  return accepted_task(http_, "/api/infrastructure/create", request, tenant_id,
                       bounded(kCallTimeout));
}

boost::json::object FlintApi::delete_infrastructure(const boost::json::object& request,
                                                    const std::optional<std::string>& tenant_id) {
  return accepted_task(http_, "/api/infrastructure/delete", request, tenant_id,
                       bounded(kCallTimeout));
}

boost::json::object FlintApi::query_infrastructure(const boost::json::object& request,
                                                   const std::optional<std::string>& tenant_id) {
  constexpr std::string_view path = "/api/infrastructure/query";
  auto body = post_for_object(http_, path, request, tenant_id, 200, bounded(kCallTimeout));
  require_non_empty_string(body, "status", "POST " + std::string(path));
  return body;
}

boost::json::value FlintApi::find_infrastructure(const boost::json::object& request,
                                                 const std::optional<std::string>& tenant_id) {
  return find_result(http_, "/api/infrastructure/find", request, tenant_id, bounded(kCallTimeout));
}

std::chrono::milliseconds FlintApi::bounded(std::chrono::milliseconds limit) const {
  if (!deadline_) return limit;
  const auto left =
      std::chrono::ceil<std::chrono::milliseconds>(*deadline_ - std::chrono::steady_clock::now());
  return std::clamp(left, std::chrono::milliseconds(1), limit);
}

}  // namespace flint::cli
