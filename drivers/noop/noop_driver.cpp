#include "noop/noop_driver.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <flint/sdk/ids.hpp>
#include <flint/sdk/json.hpp>
#include <flint/sdk/string_hash.hpp>

#include "noop/noop_settings.hpp"

namespace flint::drivers::noop {
namespace {

namespace bj = boost::json;
namespace fs = std::filesystem;
using detail::invalid;
using detail::parse_kind;
using detail::raise_message;
using sdk::ErrorKind;
using sdk::InvalidRequestError;

constexpr std::string_view kOutcome = "noop.outcome";
constexpr std::string_view kFailureCode = "noop.failureCode";
constexpr std::string_view kFailureDescription = "noop.failureDescription";
constexpr std::string_view kPollsInProgress = "noop.pollsInProgress";
constexpr std::string_view kLatencyMs = "noop.latencyMs";
constexpr std::string_view kRaise = "noop.raise";
constexpr std::string_view kRaiseOnPoll = "noop.raiseOnPoll";
constexpr std::string_view kRaiseOnPollTimes = "noop.raiseOnPollTimes";
constexpr std::string_view kOutputs = "noop.outputs";
constexpr std::string_view kTopology = "noop.topology";
constexpr std::string_view kAcceptTopology = "noop.acceptTopology";
constexpr std::string_view kFind = "noop.find";
constexpr std::string_view kLocationProperties = "deploymentLocation.properties";

std::string path_of(std::string_view source, std::string_view name) {
  std::string path(source);
  path.append(".").append(name);
  return path;
}

// A `noop.*` setting found in the request or resource properties, with the
// name of the map it came from for error messages.
struct Setting {
  const sdk::Property* property = nullptr;
  std::string_view source;
  explicit operator bool() const noexcept { return property != nullptr; }
};

Setting find_setting(const sdk::ExecuteLifecycleRequest& request, std::string_view name) {
  Setting found;
  // A null value counts as unset, so a request can fall back explicitly.
  if (const auto* p = request.request_properties.find(name); p && !p->value().is_null()) {
    found = {p, "requestProperties"};
  } else if (const auto* q = request.resource_properties.find(name); q && !q->value().is_null()) {
    found = {q, "resourceProperties"};
  }
  // A key's value is a secret: an error quoting it would put it in the log.
  if (found && found.property->is_key()) {
    invalid(found.source, name, "expected a plain value, got a key (its value is not shown)");
  }
  return found;
}

std::string_view string_setting(const Setting& setting, std::string_view name) {
  auto text = setting.property->as_string();
  if (!text) invalid(setting.source, name, "expected a string");
  return *text;
}

std::int64_t non_negative(std::optional<std::int64_t> number, std::string_view source,
                          std::string_view name) {
  if (!number || *number < 0) invalid(source, name, "expected a non-negative integer");
  return *number;
}

bj::object map_setting(const Setting& setting, std::string_view name) {
  const auto* object = setting.property->value().if_object();
  if (object == nullptr) invalid(setting.source, name, "expected a map value (a JSON object)");
  return bj::object(*object, bj::storage_ptr());
}

sdk::AssociatedTopology topology_setting(const Setting& setting, std::string_view name) {
  return sdk::json::decode_output_topology(setting.property->value(),
                                           path_of(setting.source, name));
}

// Integer from a plain JSON value (deployment location properties are not
// typed): a JSON integer or an integral string.
std::optional<std::int64_t> plain_integer(const bj::value& value) {
  return sdk::Property("integer", bj::value(value, bj::storage_ptr())).as_integer();
}

void sleep_for(std::chrono::milliseconds latency) {
  if (latency.count() > 0) std::this_thread::sleep_for(latency);
}

}  // namespace

std::string_view to_string(NoopCallKind kind) noexcept {
  switch (kind) {
    case NoopCallKind::execute:
      return "execute";
    case NoopCallKind::get:
      return "get";
    case NoopCallKind::find:
      return "find";
    case NoopCallKind::delivered:
      return "delivered";
  }
  return "execute";
}

// Everything execute_lifecycle resolved for one request.
struct NoopDriverRequestState {
  std::string lifecycle_name;
  Outcome outcome = Outcome::complete;
  sdk::FailureDetails failure;
  std::int64_t polls_remaining = 0;
  std::chrono::milliseconds latency{0};
  std::optional<ErrorKind> raise_on_poll;
  std::int64_t raise_on_poll_remaining = -1;  // < 0: every poll
  bj::object outputs;
  sdk::AssociatedTopology topology;
};

namespace {

// One status poll of `state`: sets `result` or `raise` and counts the poll down.
// Returns whether `state` changed.
bool poll_state(NoopDriverRequestState& state, std::string_view request_id,
                std::optional<sdk::LifecycleExecution>& result, std::optional<ErrorKind>& raise) {
  if (state.raise_on_poll && state.raise_on_poll_remaining != 0) {
    raise = state.raise_on_poll;
    if (state.raise_on_poll_remaining < 0) return false;
    --state.raise_on_poll_remaining;
    return true;
  }
  if (state.polls_remaining > 0) {
    --state.polls_remaining;
    result = sdk::LifecycleExecution::in_progress(std::string(request_id));
    return true;
  }
  if (state.outcome == Outcome::complete) {
    result =
        sdk::LifecycleExecution::complete(std::string(request_id), state.outputs, state.topology);
  } else {
    result =
        sdk::LifecycleExecution::failed(std::string(request_id), state.failure.code,
                                        state.failure.description, state.outputs, state.topology);
  }
  return false;
}

[[noreturn]] void raise_not_found(std::string_view request_id) {
  throw sdk::RequestNotFoundError("noop driver: request \"" + std::string(request_id) +
                                  "\" not found");
}

// --- Shared state directory (Options::state_dir) ---

[[noreturn]] void io_error(std::string_view what, const fs::path& path, int error) {
  throw sdk::ResourceDriverError("noop driver: cannot " + std::string(what) + " " + path.string() +
                                 ": " + std::strerror(error));
}

// Owns a file descriptor; closing it releases a `flock` taken through it.
class Fd {
 public:
  explicit Fd(int fd = -1) noexcept : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd& operator=(Fd&&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }

 private:
  int fd_;
};

bj::object encode_state(const NoopDriverRequestState& state) {
  bj::object json;
  json["lifecycleName"] = state.lifecycle_name;
  json["outcome"] = state.outcome == Outcome::complete ? "COMPLETE" : "FAILED";
  json["failure"] = sdk::json::encode(state.failure);
  json["pollsRemaining"] = state.polls_remaining;
  json["latencyMs"] = state.latency.count();
  if (state.raise_on_poll) {
    json["raiseOnPoll"] = sdk::to_string(*state.raise_on_poll);
  } else {
    json["raiseOnPoll"] = nullptr;
  }
  json["raiseOnPollRemaining"] = state.raise_on_poll_remaining;
  json["outputs"] = state.outputs;
  json["topology"] = sdk::json::encode(state.topology);
  return json;
}

// Throws std::exception on anything but what encode_state writes.
NoopDriverRequestState decode_state(const bj::value& value) {
  const auto& json = value.as_object();
  NoopDriverRequestState state;
  state.lifecycle_name = json.at("lifecycleName").as_string();
  const auto& outcome = json.at("outcome").as_string();
  if (outcome != "COMPLETE" && outcome != "FAILED") throw std::runtime_error("bad outcome");
  state.outcome = outcome == "COMPLETE" ? Outcome::complete : Outcome::failed;
  const auto& failure = json.at("failure").as_object();
  const auto code = sdk::parse_failure_code(failure.at("failureCode").as_string());
  if (!code) throw std::runtime_error("bad failure code");
  state.failure = {*code, std::string(failure.at("description").as_string())};
  state.polls_remaining = json.at("pollsRemaining").to_number<std::int64_t>();
  state.latency = std::chrono::milliseconds(json.at("latencyMs").to_number<std::int64_t>());
  if (const auto& raise = json.at("raiseOnPoll"); !raise.is_null()) {
    state.raise_on_poll = sdk::parse_error_kind(raise.as_string());
    if (!state.raise_on_poll) throw std::runtime_error("bad raiseOnPoll");
  }
  state.raise_on_poll_remaining = json.at("raiseOnPollRemaining").to_number<std::int64_t>();
  state.outputs = json.at("outputs").as_object();
  state.topology = sdk::json::decode_output_topology(json.at("topology"), "topology");
  return state;
}

// Request state as files, shared by every process using the same directory:
// `<id>.json` holds the state, replaced atomically; `<id>.lock` exists exactly
// as long as the request is known (created before the state file, removed
// after it) and is `flock`ed around every read-modify-write. A process that
// waited for the lock of a request delivered meanwhile finds no state file.
class StateDir {
 public:
  explicit StateDir(fs::path directory) : directory_(std::move(directory)) {
    std::error_code error;
    fs::create_directories(directory_, error);
    if (!error && !fs::is_directory(directory_, error) && !error) {
      error = std::make_error_code(std::errc::not_a_directory);
    }
    if (error) {
      throw std::runtime_error("noop driver: cannot create state directory " + directory_.string() +
                               ": " + error.message());
    }
  }

  void create(const std::string& request_id, const NoopDriverRequestState& state) {
    const auto lock_path = path(request_id, ".lock");
    Fd lock(::open(lock_path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644));
    if (!lock) io_error("create", lock_path, errno);
    try {
      write(request_id, state);
    } catch (...) {
      ::unlink(lock_path.c_str());
      throw;
    }
  }

  // Calls `update(state)` holding the request's lock, and writes the state
  // back when it returns true. False when the request is unknown.
  template <typename Change>
  bool update(std::string_view request_id, Change&& change) {
    const Fd lock = acquire(request_id);
    if (!lock) return false;
    auto state = read(request_id);
    if (!state) return false;
    if (change(*state)) write(request_id, *state);
    return true;
  }

  // Removes the request's files; its state (nullopt when unknown or corrupt).
  std::optional<NoopDriverRequestState> remove(std::string_view request_id) {
    const Fd lock = acquire(request_id);
    if (!lock) return std::nullopt;
    std::optional<NoopDriverRequestState> state;
    try {
      state = read(request_id);
    } catch (const sdk::DriverError&) {
      // A corrupt state file is removed all the same.
    }
    const auto state_path = path(request_id, ".json");
    if (::unlink(state_path.c_str()) != 0 && errno != ENOENT) io_error("remove", state_path, errno);
    const auto lock_path = path(request_id, ".lock");
    if (::unlink(lock_path.c_str()) != 0 && errno != ENOENT) io_error("remove", lock_path, errno);
    return state;
  }

  // Requests with a state file (temporary files end in `.tmp`).
  std::size_t count() const {
    std::size_t count = 0;
    std::error_code error;
    for (fs::directory_iterator it(directory_, error), end; !error && it != end;
         it.increment(error)) {
      if (it->path().extension() == ".json") ++count;
    }
    return count;
  }

 private:
  // Request ids are UUIDs: anything else (a separator, "..") names no file
  // and is simply unknown.
  static bool valid_id(std::string_view request_id) noexcept {
    return !request_id.empty() && request_id.size() <= 128 &&
           std::all_of(request_id.begin(), request_id.end(), [](char c) {
             return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    c == '-' || c == '_';
           });
  }

  fs::path path(std::string_view request_id, std::string_view extension) const {
    std::string name(request_id);
    name.append(extension);
    return directory_ / name;
  }

  // The request's lock file, locked exclusively; closed when unknown.
  Fd acquire(std::string_view request_id) const {
    if (!valid_id(request_id)) return Fd();
    const auto lock_path = path(request_id, ".lock");
    Fd lock(::open(lock_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!lock) {
      if (errno == ENOENT) return lock;
      io_error("open", lock_path, errno);
    }
    while (::flock(lock.get(), LOCK_EX) != 0) {
      if (errno != EINTR) io_error("lock", lock_path, errno);
    }
    return lock;
  }

  std::optional<NoopDriverRequestState> read(std::string_view request_id) const {
    const auto state_path = path(request_id, ".json");
    const Fd file(::open(state_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file) {
      if (errno == ENOENT) return std::nullopt;
      io_error("open", state_path, errno);
    }
    std::string text;
    char buffer[8192];
    for (;;) {
      const auto n = ::read(file.get(), buffer, sizeof buffer);
      if (n == 0) break;
      if (n < 0) {
        if (errno == EINTR) continue;
        io_error("read", state_path, errno);
      }
      text.append(buffer, static_cast<std::size_t>(n));
    }
    try {
      return decode_state(sdk::json::parse_stored(text));
    } catch (const std::exception& e) {
      throw sdk::ResourceDriverError("noop driver: corrupt state file " + state_path.string() +
                                     ": " + e.what());
    }
  }

  // Replaces `<id>.json`: a temporary file in the same directory, fsync, rename.
  void write(std::string_view request_id, const NoopDriverRequestState& state) const {
    const auto target = path(request_id, ".json");
    const auto temporary =
        path(request_id, ".json." + sdk::new_time_ordered_id() + ".tmp");  // unique across hosts
    const std::string text = bj::serialize(encode_state(state));
    {
      const Fd file(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
      if (!file) io_error("create", temporary, errno);
      std::size_t written = 0;
      while (written < text.size()) {
        const auto n = ::write(file.get(), text.data() + written, text.size() - written);
        if (n < 0) {
          if (errno == EINTR) continue;
          fail(temporary, "write", temporary);
        }
        written += static_cast<std::size_t>(n);
      }
      if (::fsync(file.get()) != 0) fail(temporary, "fsync", temporary);
    }
    if (::rename(temporary.c_str(), target.c_str()) != 0) fail(temporary, "rename into", target);
  }

  // Removes the temporary file of a failed write and throws the error.
  [[noreturn]] static void fail(const fs::path& temporary, std::string_view what,
                                const fs::path& where) {
    const int error = errno;
    ::unlink(temporary.c_str());
    io_error(what, where, error);
  }

  fs::path directory_;
};

}  // namespace

struct NoopDriver::Impl {
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, NoopDriverRequestState, sdk::StringHash, std::equal_to<>>
        requests;
  };
  static constexpr std::size_t kShardCount = 16;

  explicit Impl(std::size_t log_capacity, const fs::path& state_dir) : capacity(log_capacity) {
    log.reserve(std::min<std::size_t>(capacity, 4096));
    if (!state_dir.empty()) files.emplace(state_dir);
  }

  Shard& shard_for(std::string_view request_id) noexcept {
    // The low bits of a string hash are well mixed; the map rehashes anyway.
    return shards[sdk::StringHash{}(request_id) % kShardCount];
  }

  void record(NoopCallKind kind, std::string subject, std::string lifecycle_name) {
    if (capacity == 0) return;
    NoopCall call{kind, std::move(subject), std::move(lifecycle_name)};
    std::lock_guard lock(log_mutex);
    if (log.size() < capacity) {
      log.push_back(std::move(call));
    } else {
      log[next] = std::move(call);
    }
    next = (next + 1) % capacity;
  }

  std::array<Shard, kShardCount> shards;  // unused with a state directory
  std::optional<StateDir> files;          // set with Options::state_dir
  const std::size_t capacity;
  mutable std::mutex log_mutex;
  std::vector<NoopCall> log;
  std::size_t next = 0;  // slot of the next call; the oldest once the ring is full
};

NoopDriver::NoopDriver() : NoopDriver(Options{}) {}

NoopDriver::NoopDriver(Options options) : options_(std::move(options)) {
  if (options_.polls_in_progress < 0) {
    throw std::invalid_argument("noop driver options: polls_in_progress must be >= 0");
  }
  if (options_.latency.count() < 0) {
    throw std::invalid_argument("noop driver options: latency must be >= 0");
  }
  impl_ = std::make_unique<Impl>(options_.call_log_size, options_.state_dir);
}

NoopDriver::~NoopDriver() = default;

sdk::LifecycleExecuteResponse NoopDriver::execute_lifecycle(
    const sdk::ExecuteLifecycleRequest& request, sdk::CallContext& /*context*/) {
  NoopDriverRequestState state;
  state.lifecycle_name = request.lifecycle_name;
  state.outcome = options_.outcome;
  state.failure = {options_.failure_code, options_.failure_description};
  state.polls_remaining = options_.polls_in_progress;
  state.latency = options_.latency;
  std::optional<ErrorKind> raise;
  sdk::AssociatedTopology accept_topology;

  try {
    if (auto s = find_setting(request, kOutcome)) {
      const auto text = string_setting(s, kOutcome);
      if (text == "COMPLETE") {
        state.outcome = Outcome::complete;
      } else if (text == "FAILED") {
        state.outcome = Outcome::failed;
      } else {
        invalid(s.source, kOutcome,
                "expected COMPLETE or FAILED, got \"" + std::string(text) + "\"");
      }
    }
    if (auto s = find_setting(request, kFailureCode)) {
      const auto text = string_setting(s, kFailureCode);
      const auto code = sdk::parse_failure_code(text);
      if (!code)
        invalid(s.source, kFailureCode, "unknown failure code \"" + std::string(text) + "\"");
      state.failure.code = *code;
    }
    if (auto s = find_setting(request, kFailureDescription)) {
      state.failure.description = string_setting(s, kFailureDescription);
    }
    if (auto s = find_setting(request, kPollsInProgress)) {
      state.polls_remaining = non_negative(s.property->as_integer(), s.source, kPollsInProgress);
    }
    if (auto s = find_setting(request, kLatencyMs)) {
      state.latency =
          std::chrono::milliseconds(non_negative(s.property->as_integer(), s.source, kLatencyMs));
    }
    if (auto s = find_setting(request, kRaise)) {
      raise = parse_kind(string_setting(s, kRaise), s.source, kRaise);
    }
    if (auto s = find_setting(request, kRaiseOnPoll)) {
      state.raise_on_poll = parse_kind(string_setting(s, kRaiseOnPoll), s.source, kRaiseOnPoll);
    }
    if (auto s = find_setting(request, kRaiseOnPollTimes)) {
      state.raise_on_poll_remaining =
          non_negative(s.property->as_integer(), s.source, kRaiseOnPollTimes);
    }
    if (auto s = find_setting(request, kOutputs)) state.outputs = map_setting(s, kOutputs);
    if (auto s = find_setting(request, kTopology)) state.topology = topology_setting(s, kTopology);
    if (auto s = find_setting(request, kAcceptTopology)) {
      accept_topology = topology_setting(s, kAcceptTopology);
    }
  } catch (...) {
    impl_->record(NoopCallKind::execute, {}, request.lifecycle_name);
    throw;
  }

  sleep_for(state.latency);
  if (raise) {
    impl_->record(NoopCallKind::execute, {}, request.lifecycle_name);
    sdk::raise_error(*raise, raise_message(*raise, kRaise), detail::raise_detail(kRaise));
  }

  std::string request_id = sdk::new_time_ordered_id();
  if (impl_->files) {
    try {
      impl_->files->create(request_id, state);
    } catch (...) {
      impl_->record(NoopCallKind::execute, {}, request.lifecycle_name);
      throw;
    }
  } else {
    auto& shard = impl_->shard_for(request_id);
    std::lock_guard lock(shard.mutex);
    shard.requests.emplace(request_id, std::move(state));
  }
  impl_->record(NoopCallKind::execute, request_id, request.lifecycle_name);
  return {std::move(request_id), std::move(accept_topology)};
}

sdk::LifecycleExecution NoopDriver::get_lifecycle_execution(
    std::string_view request_id, const sdk::DeploymentLocation& /*location*/,
    sdk::CallContext& /*context*/) {
  std::optional<sdk::LifecycleExecution> result;
  std::optional<ErrorKind> raise;
  std::chrono::milliseconds latency{0};
  std::string lifecycle_name;
  auto answer = [&](NoopDriverRequestState& state) {
    latency = state.latency;
    lifecycle_name = state.lifecycle_name;
    return poll_state(state, request_id, result, raise);
  };
  if (impl_->files) {
    try {
      impl_->files->update(request_id, answer);
    } catch (...) {
      impl_->record(NoopCallKind::get, std::string(request_id), {});
      throw;
    }
  } else {
    auto& shard = impl_->shard_for(request_id);
    std::lock_guard lock(shard.mutex);
    if (auto it = shard.requests.find(request_id); it != shard.requests.end()) answer(it->second);
  }
  impl_->record(NoopCallKind::get, std::string(request_id), std::move(lifecycle_name));
  if (!result && !raise) raise_not_found(request_id);
  sleep_for(latency);
  if (raise) {
    sdk::raise_error(*raise, raise_message(*raise, kRaiseOnPoll),
                     detail::raise_detail(kRaiseOnPoll));
  }
  return std::move(*result);
}

sdk::FindReferenceResponse NoopDriver::find_reference(const sdk::FindReferenceRequest& request,
                                                      sdk::CallContext& /*context*/) {
  impl_->record(NoopCallKind::find, request.instance_name, {});
  const auto& props = request.deployment_location.properties;

  std::chrono::milliseconds latency = options_.latency;
  if (const auto* value = props.if_contains(kLatencyMs); value && !value->is_null()) {
    latency = std::chrono::milliseconds(
        non_negative(plain_integer(*value), kLocationProperties, kLatencyMs));
  }
  std::optional<ErrorKind> raise;
  if (const auto* value = props.if_contains(kRaise); value && !value->is_null()) {
    if (!value->is_string()) invalid(kLocationProperties, kRaise, "expected a string");
    raise = parse_kind(value->get_string(), kLocationProperties, kRaise);
  }

  sdk::FindReferenceResponse response;
  if (const auto* find = props.if_contains(kFind)) {
    if (const auto* object = find->if_object()) {
      const std::string find_path = path_of(kLocationProperties, kFind);
      sdk::FoundReference found;
      const auto* id = object->if_contains("resourceId");
      if (id == nullptr || id->is_null()) invalid(find_path, "resourceId", "required");
      if (!id->is_string()) invalid(find_path, "resourceId", "expected a string");
      found.resource_id = id->get_string();
      if (const auto* outputs = object->if_contains("outputs"); outputs && !outputs->is_null()) {
        if (!outputs->is_object()) invalid(find_path, "outputs", "expected an object");
        found.outputs = bj::object(outputs->get_object(), bj::storage_ptr());
      }
      if (const auto* topology = object->if_contains("associatedTopology");
          topology && !topology->is_null()) {
        found.associated_topology =
            sdk::json::decode_output_topology(*topology, path_of(find_path, "associatedTopology"));
      }
      response.result = std::move(found);
    } else if (!find->is_null()) {
      invalid(kLocationProperties, kFind, "expected an object or null");
    }
  } else if (options_.find_found) {
    response.result = sdk::FoundReference{"noop-" + request.instance_name, {}, {}};
  }

  sleep_for(latency);
  if (raise) sdk::raise_error(*raise, raise_message(*raise, kRaise), detail::raise_detail(kRaise));
  return response;
}

void NoopDriver::on_execution_delivered(std::string_view request_id,
                                        const sdk::DeploymentLocation& /*location*/,
                                        sdk::CallContext& /*context*/) {
  std::optional<NoopDriverRequestState> state;
  if (impl_->files) {
    try {
      state = impl_->files->remove(request_id);
    } catch (...) {
      impl_->record(NoopCallKind::delivered, std::string(request_id), {});
      throw;
    }
  } else {
    auto& shard = impl_->shard_for(request_id);
    std::lock_guard lock(shard.mutex);
    if (auto it = shard.requests.find(request_id); it != shard.requests.end()) {
      state = std::move(it->second);
      shard.requests.erase(it);
    }
  }
  impl_->record(NoopCallKind::delivered, std::string(request_id),
                state ? state->lifecycle_name : std::string());
  if (state) sleep_for(state->latency);
}

std::vector<NoopCall> NoopDriver::calls() const {
  std::lock_guard lock(impl_->log_mutex);
  const auto& log = impl_->log;
  if (log.size() < impl_->capacity) return log;
  // Full ring: the oldest call sits where the next one will go.
  std::vector<NoopCall> ordered;
  ordered.reserve(log.size());
  ordered.insert(ordered.end(), log.begin() + std::ptrdiff_t(impl_->next), log.end());
  ordered.insert(ordered.end(), log.begin(), log.begin() + std::ptrdiff_t(impl_->next));
  return ordered;
}

std::size_t NoopDriver::active_requests() const {
  if (impl_->files) return impl_->files->count();
  std::size_t count = 0;
  for (auto& shard : impl_->shards) {
    std::lock_guard lock(shard.mutex);
    count += shard.requests.size();
  }
  return count;
}

}  // namespace flint::drivers::noop
