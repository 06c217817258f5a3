#include "service/execution_retention.hpp"

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <string>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <prometheus/counter.h>

#include "logging/logging.hpp"
#include "service/execution_records.hpp"
#include "service/monitoring_jobs.hpp"

namespace flint::service {

struct ExecutionRetention::State : std::enable_shared_from_this<State> {
  State(store::Store& the_store, boost::asio::io_context& io, Options settings,
        prometheus::Registry& registry)
      : store(the_store),
        options(settings),
        timer(boost::asio::make_strand(io)),  // the I/O context may have many threads
        pruned(prometheus::BuildCounter()
                   .Name("flint_execution_records_pruned_total")
                   .Help("Execution records removed by store.execution_retention")
                   .Register(registry)
                   .Add({})) {}

  // On the I/O thread: queue one round on the store.
  void round() {
    if (stopped()) return;
    const std::int64_t ended_before = now_ms() - options.max_age.count();
    auto result = std::make_shared<PruneRound>();
    store.write_async(
        [after = next_after, ended_before, limit = options.round_size,
         result](store::Database& db) {
          *result = prune_ended_executions(db, after, ended_before, limit);
        },
        [weak = weak_from_this(), result](const std::exception_ptr& failure) {
          // On the writer thread: hand over to the I/O thread.
          auto self = weak.lock();
          if (!self) return;
          boost::asio::post(self->timer.get_executor(),
                            [self, result, failure] { self->finished(*result, failure); });
        });
  }

  void finished(const PruneRound& result, const std::exception_ptr& failure) {
    if (stopped()) return;
    std::chrono::milliseconds pause = sweep_pause();
    if (failure) {
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& e) {
        logging::logger("store")->warn("cannot remove old execution records (retried in {} ms): {}",
                                       pause.count(), e.what());
      }
    } else {
      pruned.Increment(static_cast<double>(result.removed));
      swept += result.removed;
      next_after = result.next_after;
      if (!next_after.empty()) {
        pause = options.round_pause;
      } else if (swept > 0) {
        logging::logger("store")->info(
            "removed {} execution records older than store.execution_retention", swept);
        swept = 0;
      }
    }
    timer.expires_after(pause);
    timer.async_wait([weak = weak_from_this()](const boost::system::error_code& error) {
      if (auto self = weak.lock(); self && !error) self->round();
    });
  }

  std::chrono::milliseconds sweep_pause() const {
    if (options.sweep_pause.count() > 0) return options.sweep_pause;
    return std::clamp(options.max_age / 10, std::chrono::milliseconds(100),
                      std::chrono::milliseconds(60'000));
  }

  bool stopped() const {
    std::lock_guard lock(mutex);
    return stopping;
  }

  store::Store& store;
  const Options options;
  boost::asio::steady_timer timer;
  prometheus::Counter& pruned;
  std::string next_after;  // I/O thread only, like `swept`
  std::size_t swept = 0;
  mutable std::mutex mutex;
  bool stopping = false;
};

ExecutionRetention::ExecutionRetention(store::Store& store, boost::asio::io_context& io,
                                       Options options, prometheus::Registry& registry) {
  if (options.max_age.count() <= 0) {
    throw std::invalid_argument("execution retention: max_age must be positive");
  }
  if (options.round_size == 0) {
    throw std::invalid_argument("execution retention: round_size must be positive");
  }
  state_ = std::make_shared<State>(store, io, options, registry);
}

ExecutionRetention::~ExecutionRetention() {
  stop();
}

void ExecutionRetention::start() {
  boost::asio::post(state_->timer.get_executor(), [state = state_] { state->round(); });
}

void ExecutionRetention::stop() {
  {
    std::lock_guard lock(state_->mutex);
    if (state_->stopping) return;
    state_->stopping = true;
  }
  boost::asio::post(state_->timer.get_executor(), [state = state_] { state->timer.cancel(); });
}

}  // namespace flint::service
