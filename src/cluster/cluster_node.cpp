#include "cluster/cluster_node.hpp"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include <flint/sdk/string_hash.hpp>

#include "logging/logging.hpp"
#include "logging/thread_name.hpp"

namespace flint::cluster {
namespace {

using Clock = std::chrono::steady_clock;

std::shared_ptr<spdlog::logger> log() {
  static const auto logger = logging::logger("cluster");
  return logger;
}

// The last error either reader met, for health; cleared by progress.
class ErrorSlot {
 public:
  void set(std::string error) {
    std::lock_guard lock(mutex_);
    error_ = std::move(error);
  }
  void clear() {
    std::lock_guard lock(mutex_);
    error_.clear();
  }
  std::string get() const {
    std::lock_guard lock(mutex_);
    return error_;
  }

 private:
  mutable std::mutex mutex_;
  std::string error_;
};

}  // namespace

// The owner: a group member monitoring the live executions of its partitions.
// Everything but `describe` runs on its thread (the rebalance callback too:
// librdkafka calls it from inside the poll).
class ClusterNode::Owner {
 public:
  Owner(const Options& options, const StateCodec& codec, service::LifecycleMonitor& monitor,
        prometheus::Registry& registry)
      : options_(options),
        codec_(codec),
        monitor_(monitor),
        partitions_gauge_(prometheus::BuildGauge()
                              .Name("flint_cluster_partitions_owned")
                              .Help("Partitions of the execution-state topic this node owns")
                              .Register(registry)
                              .Add({})),
        moves_(prometheus::BuildCounter()
                   .Name("flint_cluster_executions_adopted_total")
                   .Help("Executions this node took over, by why: accepted (new) or moved (its "
                         "partition came to this node)")
                   .Register(registry)) {
    auto settings = events::group_consumer_settings(
        "flint-" + options.node_id, options.consumer_group, options.session_timeout);
    // Catching up on a partition ends at its end of file.
    settings.emplace_back("enable.partition.eof", "true");
    rd_kafka_conf_t* conf = events::new_kafka_conf(options.client, settings);
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_rebalance_cb(conf, &Owner::on_rebalance);
    rd_kafka_conf_set_error_cb(conf, [](rd_kafka_t* rk, int err, const char* reason, void* opaque) {
      static_cast<Owner*>(opaque)->outage.on_error(rk, err, reason);
    });
    consumer_ = events::new_kafka_client(conf, /*consumer=*/true, "owner");
  }

  ~Owner() {
    stop();
    events::destroy_consumer(consumer_, closed_, "owner");
  }

  void start() {
    rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, options_.topic.name.c_str(), RD_KAFKA_PARTITION_UA);
    const auto err = rd_kafka_subscribe(consumer_, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      throw std::runtime_error(fmt::format("cannot join the consumer group {}: {}",
                                           options_.consumer_group, rd_kafka_err2str(err)));
    }
    thread_ = logging::start_thread("the cluster's job consumer thread", [this] { run(); });
  }

  void stop() {
    if (!thread_.joinable()) return;
    stopping_.store(true);
    thread_.join();
  }

  void describe(health::HealthDetails& details) const {
    details.set("partitions_owned", owned_.load());
  }

  events::KafkaOutage outage;  // no broker reachable (no read says so)
  bool closed_ = false;        // left the group (see events::close_consumer)
  ErrorSlot error;             // transient (the brokers), cleared by the next record
  ErrorSlot unreadable;        // a record this node cannot open, until its partition goes

 private:
  struct Partition {
    bool caught_up = false;
    // Live executions by offset: the oldest bounds the offset to commit.
    std::map<std::int64_t, std::string> live;
    std::unordered_map<std::string, std::int64_t> offset_of;
    // Read while catching up, adopted once the partition is read to its end.
    std::vector<service::AcceptedExecution> pending;
    std::int64_t next_offset = RD_KAFKA_OFFSET_INVALID;
  };

  void run() {
    auto next_commit = Clock::now() + options_.commit_interval;
    while (!stopping_.load()) {
      rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer_, 100);
      if (message) {
        handle(*message);
        rd_kafka_message_destroy(message);
      }
      outage.probe(consumer_);
      if (Clock::now() >= next_commit) {
        commit(/*async=*/true);
        next_commit = Clock::now() + options_.commit_interval;
      }
    }
    // Leaving the group revokes every partition (on_rebalance releases and
    // commits them), so the others take them over now.
    closed_ = events::close_consumer(consumer_, outage, "owner");
  }

  void handle(const rd_kafka_message_t& message) {
    if (message.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      caught_up(message.partition);
      return;
    }
    if (message.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      error.set(fmt::format("owner: {}", rd_kafka_message_errstr(&message)));
      log()->warn("owner: {}", rd_kafka_message_errstr(&message));
      return;
    }
    error.clear();
    auto it = partitions_.find(message.partition);
    if (it == partitions_.end()) return;  // revoked meanwhile
    Partition& partition = it->second;
    partition.next_offset = message.offset + 1;
    const std::string key(events::record_bytes(message.key, message.key_len));
    StateRecord record;
    try {
      record = codec_.decode(key, events::record_bytes(message.payload, message.len));
    } catch (const std::exception& e) {
      // Most likely another cluster key. Kept as live, so the committed
      // offset never passes it: a node with the right key that takes the
      // partition over still finds it. Health says so until then.
      unreadable.set(fmt::format("owner: record {} of partition {} (request {}) cannot be read: {}",
                                 message.offset, message.partition, key, e.what()));
      log()->error("owner: record {} of partition {} (request {}) cannot be read: {}",
                   message.offset, message.partition, key, e.what());
      partition.live.emplace(message.offset, key);
      return;
    }
    if (auto* accepted = std::get_if<service::AcceptedExecution>(&record)) {
      // Seen already, or nothing to monitor (it failed before it started).
      if (partition.offset_of.contains(key) || accepted->job.empty()) return;
      partition.live.emplace(message.offset, key);
      partition.offset_of.emplace(key, message.offset);
      if (partition.caught_up) {
        adopted("accepted").Increment();
        monitor_.adopt(*accepted, Clock::now() + options_.first_poll_delay);
      } else {
        partition.pending.push_back(std::move(*accepted));
      }
      return;
    }
    // An ending: the execution is over wherever it was monitored.
    if (auto found = partition.offset_of.find(key); found != partition.offset_of.end()) {
      partition.live.erase(found->second);
      partition.offset_of.erase(found);
    }
    std::erase_if(partition.pending, [&](const auto& e) { return e.request_id == key; });
    monitor_.release(key);
  }

  void caught_up(std::int32_t id) {
    auto it = partitions_.find(id);
    if (it == partitions_.end() || it->second.caught_up) return;
    Partition& partition = it->second;
    partition.caught_up = true;
    // Polled at once: whoever polled them before may be gone for a while.
    const auto now = Clock::now();
    for (const auto& execution : partition.pending) {
      adopted("moved").Increment();
      monitor_.adopt(execution, now);
    }
    log()->info("partition {}: caught up, {} live executions adopted", id,
                partition.pending.size());
    partition.pending.clear();
  }

  prometheus::Counter& adopted(const char* why) { return moves_.Add({{"reason", why}}); }

  // Commits, per owned partition, the offset of its oldest live execution
  // (or the next offset to read when none is live).
  void commit(bool async) {
    rd_kafka_topic_partition_list_t* offsets = rd_kafka_topic_partition_list_new(
        static_cast<int>(std::max<std::size_t>(partitions_.size(), 1)));
    for (const auto& [id, partition] : partitions_) {
      const std::int64_t offset =
          partition.live.empty() ? partition.next_offset : partition.live.begin()->first;
      if (offset < 0) continue;  // nothing read yet: the committed offset stands
      rd_kafka_topic_partition_list_add(offsets, options_.topic.name.c_str(), id)->offset = offset;
    }
    if (!outage.get().empty()) {
      // A commit Kafka cannot take would still hold the consumer's close
      // (librdkafka waits for it): the next owner reads from the last one.
      if (!async) log()->warn("owner: not committing: {}", outage.get());
    } else if (offsets->cnt > 0) {
      if (async) {
        rd_kafka_commit(consumer_, offsets, 1);
      } else if (const int err =
                     events::commit_within(consumer_, offsets, events::kRevokeCommitLimit)) {
        log()->warn("owner: commit failed: {}",
                    rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(err)));
      }
    }
    rd_kafka_topic_partition_list_destroy(offsets);
  }

  static void on_rebalance(rd_kafka_t* consumer, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* partitions, void* opaque) {
    auto* self = static_cast<Owner*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      for (int i = 0; i < partitions->cnt; ++i) {
        self->partitions_.try_emplace(partitions->elems[i].partition);
      }
      rd_kafka_assign(consumer, partitions);
      log()->info("owner: assigned {} partitions of {}", partitions->cnt,
                  self->options_.topic.name);
    } else {
      // Commit first (the next owner starts from the oldest live job),
      // then let the executions go; a poll in flight records nothing.
      self->commit(/*async=*/false);
      std::size_t released = 0;
      for (int i = 0; i < partitions->cnt; ++i) {
        auto it = self->partitions_.find(partitions->elems[i].partition);
        if (it == self->partitions_.end()) continue;
        for (const auto& [offset, id] : it->second.live) {
          self->monitor_.release(id);
          ++released;
        }
        self->partitions_.erase(it);
      }
      rd_kafka_assign(consumer, nullptr);
      self->unreadable.clear();
      log()->info("owner: revoked {} partitions, {} executions released", partitions->cnt,
                  released);
    }
    self->owned_.store(self->partitions_.size());
    self->partitions_gauge_.Set(static_cast<double>(self->partitions_.size()));
  }

  const Options& options_;
  const StateCodec& codec_;
  service::LifecycleMonitor& monitor_;
  prometheus::Gauge& partitions_gauge_;
  prometheus::Family<prometheus::Counter>& moves_;
  rd_kafka_t* consumer_ = nullptr;
  std::map<std::int32_t, Partition> partitions_;
  std::atomic<std::size_t> owned_{0};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// The view: reads every partition into this node's executions table.
class ClusterNode::View {
 public:
  View(const Options& options, const StateCodec& codec, store::Store& store,
       prometheus::Registry& registry)
      : options_(options),
        codec_(codec),
        store_(store),
        applied_counter_(prometheus::BuildCounter()
                             .Name("flint_cluster_state_records_applied_total")
                             .Help("Records of the execution-state topic applied to this node's "
                                   "copy of the execution records")
                             .Register(registry)
                             .Add({})) {
    rd_kafka_conf_t* conf = events::new_kafka_conf(
        options.client, {{"client.id", "flint-" + options.node_id + "-view"},
                         // Never joins it (partitions are assigned, positions
                         // kept in the store): librdkafka wants one anyway.
                         {"group.id", options.consumer_group + ".view"},
                         {"enable.auto.commit", "false"},
                         {"enable.auto.offset.store", "false"},
                         {"auto.offset.reset", "earliest"},
                         {"reconnect.backoff.max.ms", "1000"}});
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_error_cb(conf, [](rd_kafka_t* rk, int err, const char* reason, void* opaque) {
      static_cast<View*>(opaque)->outage_.on_error(rk, err, reason);
    });
    consumer_ = events::new_kafka_client(conf, /*consumer=*/true, "view");
  }

  ~View() {
    stop();
    // It joins no group, but librdkafka keeps a coordinator for its group.id:
    // closing while Kafka is away can wait for it far past a stop's grace.
    events::destroy_consumer(consumer_, events::close_consumer(consumer_, outage_, "view"), "view");
  }

  void start() {
    thread_ = logging::start_thread("the cluster's state reader thread", [this] { run(); });
  }

  void stop() {
    if (!thread_.joinable()) return;
    stopping_.store(true);
    thread_.join();
  }

  // Waits until every record the topic holds now is applied (see
  // ClusterLink::catch_up).
  void catch_up(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    // The ends last fetched are not the topic's while no broker answers.
    if (const std::string outage = outage_.get(); !outage.empty()) {
      throw std::runtime_error(
          fmt::format("cannot read the ends of topic {}: {}", options_.topic.name, outage));
    }
    const int count = partition_count_.load();
    if (count == 0) {
      throw std::runtime_error(fmt::format("this node does not read topic {} yet: {}",
                                           options_.topic.name, error.get()));
    }
    const std::map<std::int32_t, std::int64_t> ends = query_ends(count);
    std::unique_lock lock(positions_mutex_);
    const bool done = advanced_.wait_until(lock, deadline, [&] {
      return std::ranges::all_of(ends, [&](const auto& end) {
        const auto it = positions_.find(end.first);
        return it != positions_.end() && it->second >= end.second;
      });
    });
    if (!done) {
      throw std::runtime_error(
          fmt::format("this node's copy of topic {} did not catch up within {} ms",
                      options_.topic.name, timeout.count()));
    }
  }

  // Waits until the view has read every record the topic held when it
  // first learnt the topic's ends: before that, `unopened_only` cannot
  // tell whether this node's key opens the others' records.
  void await_first_read(std::chrono::milliseconds timeout) {
    if (first_read_.load()) return;
    std::unique_lock lock(positions_mutex_);
    if (advanced_.wait_for(
            lock, timeout,
            [&] { return first_read_.load() || !outage_.get().empty() || stopping_.load(); }) &&
        first_read_.load()) {
      return;
    }
    std::string why = outage_.get();
    if (why.empty()) why = error.get();
    throw std::runtime_error(fmt::format(
        "this node has not yet read the records topic {} held when it started{}{}: until it has, "
        "it cannot tell whether its cluster key opens the other nodes' records",
        options_.topic.name, why.empty() ? "" : ": ", why));
  }

  // The end offset of each partition holding records, as of this
  // consumer's latest fetch (every fetch answer carries it; fetches return
  // within fetch.wait.max.ms, 500 ms, or as soon as records arrive). Not
  // asked of Kafka: librdkafka before 2.3 ignores the timeout of
  // rd_kafka_query_watermark_offsets while no broker answers (its issue
  // 2588), and such a query held its caller for a whole outage.
  std::map<std::int32_t, std::int64_t> query_ends(int count) const {
    std::map<std::int32_t, std::int64_t> ends;
    for (int id = 0; id < count; ++id) {
      std::int64_t low = 0;
      std::int64_t high = 0;
      const auto err =
          rd_kafka_get_watermark_offsets(consumer_, options_.topic.name.c_str(), id, &low, &high);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR || high == RD_KAFKA_OFFSET_INVALID) {
        throw std::runtime_error(fmt::format("topic {}, partition {}: its end is not known yet{}",
                                             options_.topic.name, id,
                                             err ? std::string(": ") + rd_kafka_err2str(err) : ""));
      }
      if (high > low) ends.emplace(id, high);
    }
    return ends;
  }

  // Notes an acceptance of this process before it is produced: read back,
  // it tells nothing of the others' key.
  void accepting(const std::string& request_id) {
    std::lock_guard lock(own_mutex_);
    own_pending_.insert(request_id);
  }
  void not_accepted(const std::string& request_id) {
    std::lock_guard lock(own_mutex_);
    own_pending_.erase(request_id);
  }

  // How many of the others' records this node could not open, while it
  // opened none of their acceptances: its key is not theirs, and what it
  // accepted no other node could open (0 otherwise: a node alone, or one
  // that shares a key with another, is not held back).
  std::int64_t unopened_only() const { return peer_opened_.load() ? 0 : unopened_.load(); }

  bool accepted_here(std::string_view request_id) const {
    std::lock_guard lock(own_mutex_);
    return own_pending_.contains(request_id);
  }

  void describe(health::HealthDetails& details) const {
    details.set("records_applied", applied_.load());
    details.set("view_partitions", partition_count_.load());
  }

  ErrorSlot error;

 private:
  void run() {
    while (!stopping_.load() && !assign()) std::this_thread::sleep_for(std::chrono::seconds(1));
    std::vector<rd_kafka_message_t*> batch;
    while (!stopping_.load()) {
      // One transaction per batch: the first read waits, the rest is what
      // has arrived.
      for (int timeout = 100; batch.size() < 512; timeout = 0) {
        rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer_, timeout);
        if (!message) break;
        batch.push_back(message);
      }
      if (!batch.empty()) apply(batch);
      for (auto* message : batch) rd_kafka_message_destroy(message);
      batch.clear();
      outage_.probe(consumer_);
      if (!first_read_.load()) note_first_read();
    }
    advanced_.notify_all();  // wakes any await_first_read to fail now
  }

  // Sets first_read_ once every partition's end, known from its first
  // fetch, is applied.
  void note_first_read() {
    std::map<std::int32_t, std::int64_t> ends;
    try {
      ends = query_ends(partition_count_.load());
    } catch (const std::runtime_error&) {
      return;  // some end not fetched yet
    }
    {
      std::lock_guard lock(positions_mutex_);
      if (!std::ranges::all_of(ends, [&](const auto& end) {
            const auto it = positions_.find(end.first);
            return it != positions_.end() && it->second >= end.second;
          })) {
        return;
      }
      first_read_.store(true);
    }
    advanced_.notify_all();
    log()->info("view: read the {} records topic {} held at start", applied_.load(),
                options_.topic.name);
  }

  // Assigns every partition of the topic from the positions in the store.
  bool assign() {
    const rd_kafka_metadata_t* metadata = nullptr;
    rd_kafka_topic_t* topic = rd_kafka_topic_new(consumer_, options_.topic.name.c_str(), nullptr);
    const auto err = rd_kafka_metadata(consumer_, 0, topic, &metadata, 5'000);
    rd_kafka_topic_destroy(topic);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR || metadata->topic_cnt != 1 ||
        metadata->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR ||
        metadata->topics[0].partition_cnt == 0) {
      const std::string why =
          err != RD_KAFKA_RESP_ERR_NO_ERROR
              ? rd_kafka_err2str(err)
              : (metadata->topic_cnt == 1 ? rd_kafka_err2str(metadata->topics[0].err) : "missing");
      error.set(fmt::format("view: topic {}: {}", options_.topic.name, why));
      if (metadata) rd_kafka_metadata_destroy(metadata);
      return false;
    }
    const int count = metadata->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(metadata);
    const auto stored = store_.read([&](store::Database& db) {
      std::map<std::int32_t, std::int64_t> offsets;
      auto select =
          db.prepare("SELECT partition, next_offset FROM cluster_offsets WHERE topic = ?");
      select.bind(1, options_.topic.name);
      while (select.step()) {
        offsets[static_cast<std::int32_t>(select.column_int(0))] = select.column_int(1);
      }
      return offsets;
    });
    rd_kafka_topic_partition_list_t* partitions = rd_kafka_topic_partition_list_new(count);
    for (int id = 0; id < count; ++id) {
      const auto found = stored.find(id);
      rd_kafka_topic_partition_list_add(partitions, options_.topic.name.c_str(), id)->offset =
          found == stored.end() ? RD_KAFKA_OFFSET_BEGINNING : found->second;
    }
    rd_kafka_assign(consumer_, partitions);
    rd_kafka_topic_partition_list_destroy(partitions);
    {
      std::lock_guard lock(positions_mutex_);
      positions_.insert(stored.begin(), stored.end());
    }
    partition_count_.store(count);
    error.clear();
    log()->info("view: reading {} partitions of {}", count, options_.topic.name);
    return true;
  }

  void apply(const std::vector<rd_kafka_message_t*>& batch) {
    try {
      std::size_t applied = 0;
      // What the batch tells of this node's key (see unopened_only), kept
      // once the write is done: it may run twice (see Store::Write).
      std::int64_t unopened = 0;
      bool peer_opened = false;
      std::vector<std::string> own_read;
      store_.write([&](store::Database& db) {
        applied = 0;
        unopened = 0;
        peer_opened = false;
        own_read.clear();
        std::map<std::int32_t, std::int64_t> next;
        for (const rd_kafka_message_t* message : batch) {
          if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (message->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
              error.set(fmt::format("view: {}", rd_kafka_message_errstr(message)));
            }
            continue;
          }
          next[message->partition] = message->offset + 1;
          const std::string_view key = events::record_bytes(message->key, message->key_len);
          const bool own = accepted_here(key);
          try {
            const StateRecord record =
                codec_.decode(key, events::record_bytes(message->payload, message->len));
            if (const auto* accepted = std::get_if<service::AcceptedExecution>(&record)) {
              service::insert_execution(db, *accepted, /*if_absent=*/true, /*sealed_job=*/nullptr);
              if (own) {
                own_read.emplace_back(key);
              } else {
                peer_opened = true;
              }
            } else {
              service::end_execution(db, std::get<service::ExecutionEnding>(record));
            }
            ++applied;
          } catch (const std::runtime_error& e) {
            if (!own) ++unopened;
            // Most likely another cluster key: this node's copy misses it,
            // and health says so (until a restart with the right key, which
            // reads the topic again only from its stored position: see the
            // operations guide).
            error.set(fmt::format("view: record {} of partition {} skipped: {}", message->offset,
                                  message->partition, e.what()));
            log()->error("view: record {} of partition {} skipped: {}", message->offset,
                         message->partition, e.what());
          }
        }
        for (const auto& [partition, offset] : next) {
          db.prepare(
                "INSERT INTO cluster_offsets (topic, partition, next_offset) VALUES (?, ?, ?) "
                "ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset")
              .bind(1, options_.topic.name)
              .bind(2, static_cast<std::int64_t>(partition))
              .bind(3, offset)
              .run();
        }
      });
      applied_ += applied;
      applied_counter_.Increment(static_cast<double>(applied));
      unopened_ += unopened;
      if (peer_opened) peer_opened_.store(true);
      {
        std::lock_guard lock(own_mutex_);
        for (const auto& id : own_read) own_pending_.erase(id);
      }
      {
        std::lock_guard lock(positions_mutex_);
        for (const rd_kafka_message_t* message : batch) {
          if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
          auto& position = positions_[message->partition];
          position = std::max(position, message->offset + 1);
        }
      }
      advanced_.notify_all();
    } catch (const std::exception& e) {
      // Not stored, so read again: seek back to the batch's first records.
      error.set(fmt::format("view: cannot store records: {}", e.what()));
      log()->error("view: cannot store records (will read them again): {}", e.what());
      rewind(batch);
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }

  void rewind(const std::vector<rd_kafka_message_t*>& batch) {
    std::map<std::int32_t, std::int64_t> first;
    for (const rd_kafka_message_t* message : batch) {
      if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR)
        first.try_emplace(message->partition, message->offset);
    }
    rd_kafka_topic_partition_list_t* positions =
        rd_kafka_topic_partition_list_new(static_cast<int>(std::max<std::size_t>(first.size(), 1)));
    for (const auto& [partition, offset] : first) {
      rd_kafka_topic_partition_list_add(positions, options_.topic.name.c_str(), partition)->offset =
          offset;
    }
    if (positions->cnt > 0) rd_kafka_seek_partitions(consumer_, positions, 5'000);
    rd_kafka_topic_partition_list_destroy(positions);
  }

  const Options& options_;
  const StateCodec& codec_;
  store::Store& store_;
  prometheus::Counter& applied_counter_;
  events::KafkaOutage outage_;  // no broker reachable: catch_up fails at once
  rd_kafka_t* consumer_ = nullptr;
  std::atomic<std::uint64_t> applied_{0};
  std::atomic<bool> first_read_{false};    // the topic's records at start are applied
  std::atomic<bool> peer_opened_{false};   // another node's acceptance opened with this key
  std::atomic<std::int64_t> unopened_{0};  // other records this key could not open
  mutable std::mutex own_mutex_;
  // Acceptances of this process not read back yet.
  std::unordered_set<std::string, sdk::StringHash, std::equal_to<>> own_pending_;
  std::atomic<int> partition_count_{0};
  // Next offset to apply per partition, as stored (for catch_up).
  std::mutex positions_mutex_;
  std::condition_variable advanced_;
  std::map<std::int32_t, std::int64_t> positions_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

ClusterNode::ClusterNode(Options options, StateCodec codec, store::Store& store,
                         service::LifecycleMonitor& monitor, prometheus::Registry& registry)
    : options_(std::move(options)),
      codec_(codec),
      monitor_(monitor),
      producer_(options_.client, options_.delivery_timeout),
      owner_(std::make_unique<Owner>(options_, codec_, monitor_, registry)),
      view_(std::make_unique<View>(options_, codec_, store, registry)) {}

ClusterNode::~ClusterNode() {
  stop();
}

void ClusterNode::start() {
  producer_.create_topic(options_.topic);
  view_->start();
  owner_->start();
  log()->info("node {} joined the cluster (group {}, topic {})", options_.node_id,
              options_.consumer_group, options_.topic.name);
}

void ClusterNode::stop() {
  owner_->stop();
  view_->stop();
}

void ClusterNode::publish_accepted(const service::AcceptedExecution& execution) {
  // What it would accept no other node could open: never monitored, never
  // ended. Checked once its view has read the others' records.
  view_->await_first_read(options_.delivery_timeout);
  if (const auto unopened = view_->unopened_only(); unopened > 0) {
    throw std::runtime_error(fmt::format(
        "this node's cluster key (cluster_key_id {}) opens none of the {} records of topic {} "
        "it read: the other nodes hold another key (compare their cluster_key_id; check "
        "cluster.key_file)",
        codec_.key_id(), unopened, options_.topic.name));
  }
  view_->accepting(execution.request_id);
  try {
    producer_.produce(options_.topic.name, execution.request_id, codec_.encode(execution));
  } catch (...) {
    view_->not_accepted(execution.request_id);
    throw;
  }
}

void ClusterNode::catch_up() {
  view_->catch_up(options_.delivery_timeout);
}

std::string ClusterNode::encode_ending(const service::ExecutionEnding& ending) const {
  return codec_.encode(ending);
}

bool ClusterNode::describe(health::HealthDetails& details) const {
  details.set("node_id", options_.node_id);
  details.set("consumer_group", options_.consumer_group);
  details.set("state_topic", options_.topic.name);
  // A node whose key differs shows another key_id: which one is wrong is
  // the one thing an unreadable record cannot say.
  details.set("cluster_key_id", codec_.key_id());
  details.set("executions_held", monitor_.held());
  owner_->describe(details);
  view_->describe(details);
  std::string error = owner_->outage.health_error();
  if (error.empty()) error = owner_->unreadable.get();
  if (error.empty()) error = owner_->error.get();
  if (error.empty()) error = view_->error.get();
  if (!error.empty()) details.set("last_error", error);
  return error.empty();
}

}  // namespace flint::cluster
