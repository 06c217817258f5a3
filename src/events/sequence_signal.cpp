#include "events/sequence_signal.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace flint::events {

namespace asio = boost::asio;

struct SequenceSignal::Waiter {
  Waiter(asio::any_io_executor executor, std::int64_t value)
      : timer(std::move(executor)), after(value) {}
  asio::steady_timer timer;
  std::int64_t after;
  // Where it sits in `waiters_` while registered (guarded by the mutex).
  Waiters::iterator position;
  bool registered = false;
};

SequenceSignal::~SequenceSignal() = default;

void SequenceSignal::wake(const std::shared_ptr<Waiter>& waiter) {
  // The timer belongs to the waiter's executor: change it only there. The
  // handler keeps the waiter alive until it has run.
  asio::post(waiter->timer.get_executor(),
             [waiter] { waiter->timer.expires_at(std::chrono::steady_clock::time_point::min()); });
}

void SequenceSignal::advance(std::int64_t value) {
  std::lock_guard lock(mutex_);
  std::int64_t current = value_.load(std::memory_order_relaxed);
  if (value <= current) return;
  value_.store(value, std::memory_order_release);
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if ((*it)->after < value) {
      (*it)->registered = false;
      wake(*it);
      it = waiters_.erase(it);
    } else {
      ++it;
    }
  }
}

void SequenceSignal::close() {
  std::lock_guard lock(mutex_);
  closed_.store(true, std::memory_order_release);
  for (auto& waiter : waiters_) {
    waiter->registered = false;
    wake(waiter);
  }
  waiters_.clear();
}

std::size_t SequenceSignal::waiters() const {
  std::lock_guard lock(mutex_);
  return waiters_.size();
}

asio::awaitable<bool> SequenceSignal::wait_beyond(std::int64_t after,
                                                  std::chrono::steady_clock::time_point deadline) {
  if (value() > after || closed() || std::chrono::steady_clock::now() >= deadline) {
    co_return value() > after;
  }
  auto waiter = std::make_shared<Waiter>(co_await asio::this_coro::executor, after);
  waiter->timer.expires_at(deadline);
  bool ready = false;
  {
    // Registering and checking under the lock that `advance` takes: an
    // advance either sees this waiter or happened before the check.
    std::lock_guard lock(mutex_);
    ready = value_.load(std::memory_order_relaxed) > after || closed();
    if (!ready) {
      waiter->position = waiters_.insert(waiters_.end(), waiter);
      waiter->registered = true;
    }
  }
  if (ready) co_return value() > after;
  // Unregisters on every exit, including the destruction of this coroutine's
  // frame while suspended (its executor is going away).
  struct Unregister {
    SequenceSignal& signal;
    Waiter& waiter;
    ~Unregister() {
      std::lock_guard lock(signal.mutex_);
      if (waiter.registered) {
        signal.waiters_.erase(waiter.position);
        waiter.registered = false;
      }
    }
  } unregister{*this, *waiter};
  co_await waiter->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return value() > after;
}

}  // namespace flint::events
