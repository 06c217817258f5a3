#include "cluster/request_queue.hpp"

#include <algorithm>
#include <optional>
#include <set>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include <flint/sdk/errors.hpp>
#include <flint/sdk/ids.hpp>
#include <flint/sdk/json.hpp>

#include "files/base64.hpp"
#include "logging/logging.hpp"
#include "logging/thread_name.hpp"
#include "service/monitoring_jobs.hpp"

namespace flint::cluster {

namespace json = boost::json;
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kFormat = 1;
// How much longer than the producer's delivery timeout an enqueue may take.
constexpr std::chrono::milliseconds kEnqueueMargin{5'000};
// The longest wait between two tries of a dead letter, or of the record of
// a request the driver accepted.
constexpr std::chrono::milliseconds kMaxBackoff{60'000};
// How long a rebalance waits for the requests running from the partitions
// it takes away (their driver call and record), so that the next owner,
// reading from the commit, does not run them again.
constexpr std::chrono::milliseconds kRevokeDrainLimit{30'000};

std::shared_ptr<spdlog::logger> log() {
  static const auto logger = logging::logger("request-queue");
  return logger;
}

}  // namespace

// A record opened and decoded, and where it was read: what running it needs.
struct RequestQueue::Decoded : Record {
  // Where it was read, under mutex_ once running: a partition that came
  // back while it ran moves it to the new assignment (see `handle`).
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::uint64_t epoch = 0;  // Partition::epoch of the assignment it was read in
};

struct RequestQueue::Hooks {
  static void on_rebalance(rd_kafka_t* consumer, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* partitions, void* opaque) {
    auto& self = *static_cast<RequestQueue*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      {
        std::lock_guard lock(self.mutex_);
        for (int i = 0; i < partitions->cnt; ++i) {
          const auto [it, added] = self.partitions_.try_emplace(partitions->elems[i].partition);
          if (added) it->second.epoch = ++self.assignments_;
        }
      }
      rd_kafka_assign(consumer, partitions);
      self.catch_up_due_ = true;
      log()->info("assigned {} partitions of {}", partitions->cnt, self.options_.topic.name);
      return;
    }
    // Requests still running from them get a while to be recorded, so that
    // the commit passes them; those that outlast it are not committed past,
    // and the next worker sees them again and skips those recorded.
    self.drain(*partitions);
    self.commit(/*async=*/false);
    {
      std::lock_guard lock(self.mutex_);
      for (int i = 0; i < partitions->cnt; ++i)
        self.partitions_.erase(partitions->elems[i].partition);
    }
    // Their dead letters too: not committed past, the next worker reads them again.
    std::erase_if(self.letters_, [&](const Letter& letter) {
      for (int i = 0; i < partitions->cnt; ++i) {
        if (partitions->elems[i].partition == letter.partition) return true;
      }
      return false;
    });
    if (self.letters_.empty()) self.clear_letter_error();
    rd_kafka_assign(consumer, nullptr);
    log()->info("revoked {} partitions of {}", partitions->cnt, self.options_.topic.name);
  }
};

RequestQueue::RequestQueue(Options options, security::CredentialVault key, Decode decode,
                           service::ResourceDriverService& service,
                           service::LifecycleMonitor& monitor, drivers::DriverExecutor& executor,
                           asio::io_context& io, prometheus::Registry& registry)
    : options_(std::move(options)),
      key_(key),
      decode_(std::move(decode)),
      service_(service),
      monitor_(monitor),
      executor_(executor),
      io_(io),
      producer_(options_.client, options_.delivery_timeout),
      outcomes_(prometheus::BuildCounter()
                    .Name("flint_request_queue_records_total")
                    .Help("Request-queue records this node handled, by outcome: accepted, "
                          "failed (reported FAILED), skipped (already recorded), duplicate "
                          "(its request runs on this node already), dead_letter")
                    .Register(registry)) {
  rd_kafka_conf_t* conf = events::new_kafka_conf(
      options_.client,
      events::group_consumer_settings("flint-" + options_.node_id + "-requests", options_.group_id,
                                      options_.session_timeout));
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_rebalance_cb(conf, &Hooks::on_rebalance);
  rd_kafka_conf_set_error_cb(conf, [](rd_kafka_t* rk, int err, const char* reason, void* opaque) {
    static_cast<RequestQueue*>(opaque)->outage_.on_error(rk, err, reason);
  });
  consumer_ = events::new_kafka_client(conf, /*consumer=*/true, "request queue");
}

RequestQueue::~RequestQueue() {
  stop();
  events::destroy_consumer(consumer_, closed_, "request queue");
}

asio::awaitable<sdk::LifecycleExecuteResponse> RequestQueue::enqueue(json::value request,
                                                                     service::CallOrigin origin) {
  std::string request_id = sdk::new_time_ordered_id();
  auto value =
      std::make_shared<std::string>(encode_record(key_, request_id, origin, std::move(request)));
  // Longer than the producer's own timeout, so that its reason is the one given.
  const drivers::DriverExecutor::Call call{
      "request-queue", "enqueue", Clock::now() + options_.delivery_timeout + kEnqueueMargin};
  std::function<bool()> produce = [this, value, request_id] {
    try {
      producer_.produce(options_.topic.name, request_id, *value);
    } catch (const events::KafkaProduceError& e) {
      // Too large is for good: a 503 would have the orchestrator retry forever.
      if (e.too_large()) throw sdk::InvalidRequestError(too_large(value->size()));
      throw sdk::TemporaryDriverError(fmt::format(
          "the request queue (Kafka) cannot take the request now: {}; retry later", e.what()));
    }
    return true;
  };
  try {
    co_await executor_.run<bool>(call, std::move(produce));
  } catch (const drivers::CallTimedOut&) {
    throw sdk::TemporaryDriverError(fmt::format(
        "the request queue (Kafka) cannot take the request now: topic {} did not acknowledge it "
        "within {} ms; retry later",
        options_.topic.name, (options_.delivery_timeout + kEnqueueMargin).count()));
  }
  log()->info("queued request {}", request_id);
  co_return sdk::LifecycleExecuteResponse{std::move(request_id), {}};
}

std::string RequestQueue::encode_record(const security::CredentialVault& key,
                                        const std::string& request_id,
                                        const service::CallOrigin& origin, json::value request) {
  const json::object record{{"format", kFormat},
                            {"requestId", request_id},
                            {"tenantId", origin.tenant_id},
                            {"logFields", service::encode_log_fields(origin.log_fields)},
                            {"enqueuedAt", service::now_ms()},
                            {"request", std::move(request)}};
  return files::encode_base64(key.seal(json::serialize(record), request_id));
}

RequestQueue::Record RequestQueue::decode_record(std::string_view record_key,
                                                 std::string_view value,
                                                 const security::CredentialVault& key,
                                                 const Decode& decode) {
  Record request;
  request.request_id = std::string(record_key);
  if (request.request_id.empty()) throw std::runtime_error("the record has no key");
  // Not an id Flint assigned: it would reach URLs, JSON and event keys.
  if (const auto problem = sdk::unusable_request_id(request.request_id); !problem.empty())
    throw std::runtime_error("the record key is not a usable request id: " + problem);
  const auto sealed = files::decode_base64(value);
  if (!sealed) throw std::runtime_error("the value is not base64");
  std::string plain;
  try {
    plain = key.open(*sealed, request.request_id);
  } catch (const security::VaultError& e) {
    throw std::runtime_error(std::string("cannot open it under the cluster key: ") + e.what());
  }
  json::value record;
  try {
    record = sdk::json::parse_stored(plain);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("not JSON: ") + e.what());
  }
  const auto* object = record.if_object();
  if (!object) throw std::runtime_error("not a JSON object");
  const auto field = [&](std::string_view name) -> const json::value& {
    const auto* found = object->if_contains(name);
    if (!found) throw std::runtime_error(fmt::format("{}: required", name));
    return *found;
  };
  // A newer Flint's record read as this format could run something else.
  if (const auto& format = field("format"); !format.is_int64() || format.get_int64() != kFormat) {
    throw std::runtime_error(fmt::format(
        "format: {} is not the record format this node reads ({}): a newer Flint wrote it?",
        json::serialize(format), kFormat));
  }
  if (!field("requestId").is_string() || field("requestId").get_string() != request.request_id) {
    throw std::runtime_error("requestId: must be a string equal to the record key");
  }
  if (!field("tenantId").is_string()) throw std::runtime_error("tenantId: expected a string");
  request.origin.tenant_id = field("tenantId").get_string();
  const auto& log_fields = field("logFields");
  try {
    request.origin.log_fields = service::decode_log_fields(log_fields);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string("logFields: ") + e.what());
  }
  request.origin.promised_request_id = request.request_id;
  try {
    request.command = decode(field("request"));
  } catch (const sdk::InvalidRequestError& e) {
    throw std::runtime_error(std::string("request.") + e.what());
  }
  return request;
}

std::string RequestQueue::too_large(std::size_t size) const {
  const std::size_t limit = producer_.max_message_bytes();
  if (size > limit) {
    return fmt::format(
        "the request is too large for the request queue: its record is {} bytes, more than "
        "messaging.config message.max.bytes ({} bytes)",
        size, limit);
  }
  return fmt::format(
      "the request is too large for the request queue: its record is {} bytes, more than topic "
      "{} takes (the broker refused it: see the topic's max.message.bytes)",
      size, options_.topic.name);
}

void RequestQueue::start() {
  producer_.create_topic(options_.topic);
  producer_.create_topic(options_.failed_topic);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, options_.topic.name.c_str(), RD_KAFKA_PARTITION_UA);
  const auto err = rd_kafka_subscribe(consumer_, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error(fmt::format("cannot join the consumer group {}: {}", options_.group_id,
                                         rd_kafka_err2str(err)));
  }
  thread_ = logging::start_thread("the request queue's consumer thread", [this] { run(); });
}

void RequestQueue::begin_stop() noexcept {
  stopping_.store(true);
  changed_.notify_all();
}

void RequestQueue::stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true);
  changed_.notify_all();
  thread_.join();
}

void RequestQueue::run() {
  auto next_commit = Clock::now() + options_.commit_interval;
  while (!stopping_.load()) {
    {
      // Full: stop reading until a request ends (the group keeps its
      // records for the others, or for later).
      std::unique_lock lock(mutex_);
      changed_.wait_for(lock, std::chrono::milliseconds(100),
                        [this] { return running_ < options_.max_concurrency || stopping_.load(); });
    }
    bool full;
    {
      std::lock_guard lock(mutex_);
      full = running_ >= options_.max_concurrency;
    }
    if (!full) {
      // Reading while full would still need the group's heartbeats: librdkafka
      // sends those from its own threads, so waiting here is safe.
      if (rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer_, 100)) {
        handle(*message);
        rd_kafka_message_destroy(message);
      }
    }
    outage_.probe(consumer_);
    retry_letters();
    if (Clock::now() >= next_commit) {
      commit(/*async=*/true);
      next_commit = Clock::now() + options_.commit_interval;
    }
  }
  // Let the requests running end (bounded), so their offsets can be committed.
  {
    std::unique_lock lock(mutex_);
    changed_.wait_for(
        lock,
        std::min<std::chrono::milliseconds>(options_.delivery_timeout, std::chrono::seconds(5)),
        [this] { return running_ == 0; });
  }
  closed_ = events::close_consumer(consumer_, outage_, "request queue");  // revokes, commits
}

void RequestQueue::handle(rd_kafka_message_t& message) {
  if (message.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (message.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
    std::lock_guard lock(mutex_);
    last_error_ = rd_kafka_message_errstr(&message);
    return;
  }
  auto request = std::make_shared<Decoded>();
  {
    std::lock_guard lock(mutex_);
    last_error_.clear();
    auto it = partitions_.find(message.partition);
    if (it == partitions_.end()) return;  // revoked meanwhile
    it->second.next_offset = message.offset + 1;
    request->epoch = it->second.epoch;
  }
  request->partition = message.partition;
  request->offset = message.offset;
  try {
    static_cast<Record&>(*request) =
        decode_record(events::record_bytes(message.key, message.key_len),
                      events::record_bytes(message.payload, message.len), key_, decode_);
  } catch (const std::exception& e) {
    dead_letter(message, e.what());
    return;
  }
  // The first record of a run that ends after its partition moved would
  // make the next owner's run the unmonitored one, and unlogged: this run
  // gives its record up instead, naming the driver's id of it. Unless this
  // node stops (it gave the partition up itself): recorded, the run is one
  // the next owner, which reads the records first, does not start again.
  request->origin.why_not_record = [this, weak = std::weak_ptr<const Decoded>(request)] {
    const auto running = weak.lock();
    return running && !stopping_.load() ? lost(*running) : nullptr;
  };
  // A second copy of a request this worker runs now (a producer's retry, a
  // record duplicated upstream): the first one's outcome stands.
  bool duplicate = false;
  bool taken_back = false;
  {
    std::lock_guard lock(mutex_);
    if (const auto running = in_flight_.find(request->request_id); running != in_flight_.end()) {
      Decoded& first = *running->second;
      // Or the same record read again: its partition was revoked while it
      // ran and came back. It goes on here, its offset tracked anew, else
      // the commit would pass it before it is recorded.
      taken_back = first.partition == request->partition && first.epoch != request->epoch;
      if (taken_back) {
        first.epoch = request->epoch;
        first.offset = request->offset;
        partitions_[request->partition].running.insert(request->offset);
      }
      duplicate = !taken_back;
    }
  }
  if (taken_back) {
    log()->info("request {}: running here already, taken back with its partition",
                request->request_id);
    return;
  }
  if (duplicate) {
    outcomes_.Add({{"outcome", "duplicate"}}).Increment();
    log()->info("request {}: running already, duplicate skipped", request->request_id);
    return;
  }
  // The requests the previous owners of these partitions ran (a rebalance
  // waits for them) are recorded on the state topic, perhaps not yet in
  // this node's copy: read it to its end once, before the first decision.
  if (catch_up_due_) {
    catch_up_due_ = false;
    try {
      monitor_.catch_up();
    } catch (const std::exception& e) {
      log()->warn(
          "cannot catch up on the cluster's records after an assignment ({}): a request "
          "recorded elsewhere moments ago may run again",
          e.what());
    }
  }
  // Seen before (a worker died before committing, or a duplicate of one
  // that ended): it was accepted already.
  if (monitor_.record(request->request_id)) {
    outcomes_.Add({{"outcome", "skipped"}}).Increment();
    log()->info("request {}: recorded already, skipped", request->request_id);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    partitions_[message.partition].running.insert(message.offset);
    in_flight_.emplace(request->request_id, request);
    ++running_;
  }
  asio::co_spawn(asio::make_strand(io_), execute(request), asio::detached);
}

asio::awaitable<void> RequestQueue::execute(std::shared_ptr<Decoded> request) {
  sdk::FailureDetails failure{sdk::FailureCode::internal_error, ""};
  bool started = false;
  auto delay = options_.retry_delay;
  for (std::uint32_t attempt = 0;; ++attempt) {
    bool retry = false;
    // Set once the driver accepted a run whose record failed: only the
    // record is tried again from then on, never the driver.
    service::AcceptanceNotRecorded::RecordAgain record_again;
    std::string driver_request_id;
    try {
      auto command = request->command;  // kept for a retry
      auto origin = request->origin;
      co_await service_.execute(std::move(command), std::move(origin));
      started = true;
    } catch (const service::AcceptanceNotRecorded& e) {
      log()->warn(
          "request {}: {}; the driver accepted it as its request {}: retrying only its record",
          request->request_id, e.what(), e.driver_request_id());
      record_again = e.record_again();
      driver_request_id = e.driver_request_id();
    } catch (const sdk::TemporaryDriverError& e) {
      retry = attempt < options_.retries && !stopping_.load();
      if (retry) {
        log()->info("request {}: {}; retrying in {} ms", request->request_id, e.what(),
                    delay.count());
      } else {
        failure.description = fmt::format("temporary error, {} retries: {}", attempt, e.what());
      }
    } catch (const sdk::DriverError& e) {
      failure.description = fmt::format("{}: {}", sdk::to_string(e.kind()), e.what());
    } catch (const std::exception& e) {
      failure.description = e.what();
    }
    // Outside the handlers: a catch block cannot await.
    if (record_again) {
      started = co_await record_while_owned(*request, driver_request_id, record_again);
      if (!started) co_return;  // given up: the offset stays uncommitted
      break;
    }
    if (!retry) break;
    asio::steady_timer timer(co_await asio::this_coro::executor, delay);
    co_await timer.async_wait(asio::use_awaitable);
    delay *= 2;
  }
  if (started) {
    outcomes_.Add({{"outcome", "accepted"}}).Increment();
  } else {
    log()->warn("request {} FAILED before it started: {}", request->request_id,
                failure.description);
    // Until it is recorded, the offset stays uncommitted: another worker,
    // or this one after a restart, will see the request again.
    const service::AcceptedExecution execution{.request_id = request->request_id,
                                               .driver = "none",
                                               .lifecycle_name = request->command.lifecycle_name,
                                               .tenant_id = request->origin.tenant_id,
                                               .accepted_at = service::now_ms(),
                                               .deadline_at = service::now_ms(),
                                               .associated_topology = json::object()};
    std::function<bool()> record = [this, execution, failure] {
      monitor_.record_not_started(execution, failure);
      return true;
    };
    // Tried again (backing off) while this worker owns the request: a
    // report left unrecorded until the partition moved would pin its commit.
    for (auto pause_for = options_.retry_delay;;) {
      std::string why;
      try {
        co_await executor_.run<bool>(
            // No deadline of its own: its two waits (catching up on the state
            // topic, then producing to it) are bounded, and a call abandoned
            // at a deadline would go on to record the failure unseen, its
            // offset never committed.
            {"request-queue", "record_failure", Clock::time_point::max()}, record);
        outcomes_.Add({{"outcome", "failed"}}).Increment();
        break;
      } catch (const std::exception& e) {
        why = e.what();
      }
      log()->warn("request {}: cannot record its failure ({}); retrying in {} ms",
                  request->request_id, why, pause_for.count());
      {
        std::lock_guard lock(mutex_);
        last_error_ = why;
      }
      asio::steady_timer pause(co_await asio::this_coro::executor, pause_for);
      co_await pause.async_wait(asio::use_awaitable);
      pause_for = std::min(pause_for * 2, kMaxBackoff);
      if (const char* lost = give_up_if_lost(*request)) {
        log()->error("request {}: giving up the record of its failure ({}): it stays on the queue",
                     request->request_id, lost);
        co_return;
      }
    }
  }
  finished(*request);
}

asio::awaitable<bool> RequestQueue::record_while_owned(
    const Decoded& request, const std::string& driver_request_id,
    const service::AcceptanceNotRecorded::RecordAgain& record_again) {
  auto delay = options_.retry_delay;
  const auto executor = co_await asio::this_coro::executor;
  for (;;) {
    asio::steady_timer pause(executor, delay);
    co_await pause.async_wait(asio::use_awaitable);
    delay = std::min(delay * 2, kMaxBackoff);
    if (const char* why = give_up_if_lost(request)) {
      log()->error(
          "request {}: giving up its record ({}): it stays on the queue, and the run the "
          "driver accepted here as its request {} is not monitored",
          request.request_id, why, driver_request_id);
      co_return false;
    }
    // The outcome comes on another thread: it cancels a timer this
    // coroutine waits on (on its strand, so never before the wait).
    auto outcome = std::make_shared<std::optional<std::exception_ptr>>();
    auto signal = std::make_shared<asio::steady_timer>(executor, Clock::time_point::max());
    record_again([executor, outcome, signal](std::exception_ptr failure) {
      asio::post(executor, [outcome, signal, failure] {
        *outcome = failure;
        signal->cancel();
      });
    });
    while (!outcome->has_value()) {
      co_await signal->async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (!outcome->value()) co_return true;  // recorded, and monitored
    std::string why;
    try {
      std::rethrow_exception(**outcome);
    } catch (const std::exception& e) {
      why = e.what();
    }
    log()->warn("request {}: its record failed again ({}); retrying in {} ms", request.request_id,
                why, delay.count());
    std::lock_guard lock(mutex_);
    last_error_ = why;
  }
}

const char* RequestQueue::lost(const Decoded& request) const {
  std::lock_guard lock(mutex_);
  return lost_locked(request);
}

const char* RequestQueue::lost_locked(const Decoded& request) const {
  const auto it = partitions_.find(request.partition);
  return it == partitions_.end() || it->second.epoch != request.epoch
             ? "its partition went to another worker, which runs it again"
             : nullptr;
}

const char* RequestQueue::give_up_if_lost(const Decoded& request) {
  // Checked and given up under one lock, so that a record read again after
  // its partition came back (`handle`) takes the run over or starts anew.
  std::lock_guard lock(mutex_);
  const char* why = stopping_.load() ? "the node stops" : lost_locked(request);
  if (why != nullptr) {
    in_flight_.erase(request.request_id);
    --running_;  // its offset is not committed past
    changed_.notify_all();
  }
  return why;
}

void RequestQueue::drain(const rd_kafka_topic_partition_list_t& revoked) {
  // Nothing can be recorded while Kafka is away; a stopping node hands over.
  if (stopping_.load() || !outage_.get().empty()) return;
  std::set<std::int32_t> ids;
  for (int i = 0; i < revoked.cnt; ++i) ids.insert(revoked.elems[i].partition);
  std::unique_lock lock(mutex_);
  const auto running_there = [&] {
    return std::ranges::count_if(
        in_flight_, [&](const auto& entry) { return ids.contains(entry.second->partition); });
  };
  const auto running = running_there();
  if (running == 0) return;
  // A member that keeps the group waiting past its session timeout may be
  // dropped from it, and then even the commit after the wait fails.
  const auto limit = std::clamp(options_.session_timeout - std::chrono::seconds(1),
                                std::chrono::milliseconds(0), kRevokeDrainLimit);
  log()->info(
      "rebalance: waiting up to {} ms for the {} requests running from the partitions it "
      "takes away",
      limit.count(), running);
  const bool drained =
      changed_.wait_for(lock, limit, [&] { return stopping_.load() || running_there() == 0; });
  if (!drained && !stopping_.load()) {
    log()->warn(
        "rebalance: {} requests still running from the partitions it takes away; their "
        "next owner runs those not recorded by then again",
        running_there());
  }
}

void RequestQueue::finished(const Decoded& request) {
  std::lock_guard lock(mutex_);
  if (auto it = partitions_.find(request.partition); it != partitions_.end())
    it->second.running.erase(request.offset);
  in_flight_.erase(request.request_id);
  --running_;
  changed_.notify_all();
}

void RequestQueue::dead_letter(const rd_kafka_message_t& message, const std::string& reason) {
  log()->error("request-queue record {} of partition {} to {}: {}", message.offset,
               message.partition, options_.failed_topic.name, reason);
  Letter letter{.key = std::string(events::record_bytes(message.key, message.key_len)),
                .value = std::string(events::record_bytes(message.payload, message.len)),
                .reason = reason,
                .partition = message.partition,
                .offset = message.offset};
  {
    // Not committed past until the failed topic has it: nothing is lost.
    std::lock_guard lock(mutex_);
    partitions_[letter.partition].running.insert(letter.offset);
  }
  if (send(letter)) {
    if (letters_.empty()) clear_letter_error();
    return;
  }
  letter.due = Clock::now() + letter.backoff;
  letters_.push_back(std::move(letter));
}

void RequestQueue::retry_letters() {
  while (!letters_.empty() && letters_.front().due <= Clock::now() && !stopping_.load()) {
    Letter& letter = letters_.front();
    if (!send(letter)) {
      // Most likely the same cause for every letter: wait before the next one too.
      letter.backoff = std::min(letter.backoff * 2, kMaxBackoff);
      letter.due = Clock::now() + letter.backoff;
      letters_.push_back(std::move(letter));
      letters_.pop_front();
      return;
    }
    letters_.pop_front();
    if (letters_.empty()) clear_letter_error();
  }
}

void RequestQueue::clear_letter_error() {
  std::lock_guard lock(mutex_);
  letter_error_.clear();
}

bool RequestQueue::send(Letter& letter) {
  if (!letter.sent) {
    try {
      producer_.produce(options_.failed_topic.name, letter.key, letter.value,
                        {{"reason", letter.reason}, {"node", options_.node_id}});
    } catch (const std::exception& e) {
      std::lock_guard lock(mutex_);
      letter_error_ = fmt::format(
          "dead-letter topic {}: {} (record {} of partition {} is kept and tried again)",
          options_.failed_topic.name, e.what(), letter.offset, letter.partition);
      log()->error("{}", letter_error_);
      return false;
    }
    letter.sent = true;
    outcomes_.Add({{"outcome", "dead_letter"}}).Increment();
  }
  const std::string& request_id = letter.key;
  bool report = sdk::unusable_request_id(request_id).empty();  // else no orchestrator has it
  {
    std::lock_guard lock(mutex_);
    if (in_flight_.contains(request_id)) report = false;  // its running copy reports it
  }
  if (report) {
    // The orchestrator may hold this id: it hears the request failed.
    try {
      monitor_.record_not_started(
          {.request_id = request_id,
           .driver = "none",
           .lifecycle_name = "unknown",
           .accepted_at = service::now_ms(),
           .deadline_at = service::now_ms(),
           .associated_topology = json::object()},
          {sdk::FailureCode::internal_error,
           fmt::format("the queued request could not be read: {}", letter.reason)});
    } catch (const std::exception& e) {
      // Kept too (the letter is not sent again): the orchestrator must hear it.
      std::lock_guard lock(mutex_);
      letter_error_ = fmt::format("request {}: cannot record its failure ({}); tried again",
                                  request_id, e.what());
      log()->error("{}", letter_error_);
      return false;
    }
  }
  std::lock_guard lock(mutex_);
  if (auto it = partitions_.find(letter.partition); it != partitions_.end())
    it->second.running.erase(letter.offset);
  return true;
}

void RequestQueue::commit(bool async) {
  rd_kafka_topic_partition_list_t* offsets = rd_kafka_topic_partition_list_new(8);
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, partition] : partitions_) {
      const std::int64_t offset =
          partition.running.empty() ? partition.next_offset : *partition.running.begin();
      if (offset < 0) continue;
      rd_kafka_topic_partition_list_add(offsets, options_.topic.name.c_str(), id)->offset = offset;
    }
  }
  if (!outage_.get().empty()) {
    // A commit Kafka cannot take would still hold the consumer's close
    // (librdkafka waits for it): the next owner reads from the last one.
    if (!async) log()->warn("not committing {}: {}", options_.topic.name, outage_.get());
  } else if (offsets->cnt > 0) {
    if (async) {
      rd_kafka_commit(consumer_, offsets, 1);
    } else if (const int err =
                   events::commit_within(consumer_, offsets, events::kRevokeCommitLimit)) {
      // The next owner reads from the last commit and skips what is recorded.
      log()->warn("commit of {} failed: {}", options_.topic.name,
                  rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(err)));
    }
  }
  rd_kafka_topic_partition_list_destroy(offsets);
}

std::size_t RequestQueue::running() const {
  std::lock_guard lock(mutex_);
  return running_;
}

bool RequestQueue::describe(health::HealthDetails& details) const {
  std::lock_guard lock(mutex_);
  details.set("topic", options_.topic.name);
  details.set("group_id", options_.group_id);
  details.set("partitions_owned", partitions_.size());
  details.set("running", running_);
  details.set("max_concurrency", options_.max_concurrency);
  std::string error = outage_.health_error();
  if (error.empty()) error = letter_error_;
  if (error.empty()) error = last_error_;
  if (!error.empty()) details.set("last_error", error);
  return error.empty();
}

}  // namespace flint::cluster
