#include "drivers/driver_executor.hpp"

#include "logging/thread_name.hpp"

namespace flint::drivers {

DriverExecutor::DriverExecutor(Options options, DriverCallProbe& probe)
    : options_(options), probe_(probe) {
  threads_.reserve(options_.threads);
  for (std::size_t i = 0; i < options_.threads; ++i) {
    threads_.emplace_back([this, i] { worker(i); });
  }
}

DriverExecutor::~DriverExecutor() { shutdown(); }

bool DriverExecutor::shutdown(std::chrono::milliseconds grace) {
  bool drained = false;
  {
    std::unique_lock lock(mutex_);
    stopping_ = true;
    probe_.queued().Decrement(static_cast<double>(queue_.size()));
    queue_.clear();
    wake_.notify_all();
    drained = idle_.wait_for(lock, grace, [this] { return running_.load() == 0; });
  }
  for (auto& thread : threads_) {
    if (!thread.joinable()) continue;
    if (drained) {
      thread.join();
    } else {
      thread.detach();
    }
  }
  threads_.clear();
  return drained;
}

std::size_t DriverExecutor::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

bool DriverExecutor::try_enqueue(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= options_.queue_size) return false;
    queue_.push_back(std::move(task));
  }
  probe_.queued().Increment();
  wake_.notify_one();
  return true;
}

void DriverExecutor::worker(std::size_t index) {
  logging::set_thread_name("driver-" + std::to_string(index));
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
      ++running_;  // under the lock, so shutdown never sees a popped task as idle
    }
    probe_.queued().Decrement();
    probe_.running().Increment();
    task();
    probe_.running().Decrement();
    {
      std::lock_guard lock(mutex_);
      --running_;
    }
    idle_.notify_all();
  }
}

std::string_view DriverExecutor::outcome_of(const std::exception_ptr& error) noexcept {
  if (!error) return "ok";
  try {
    std::rethrow_exception(error);
  } catch (const sdk::DriverError& e) {
    return sdk::to_string(e.kind());
  } catch (...) {
    return "driver";
  }
}

void DriverExecutor::fail(const Call& call, std::string_view outcome, std::string message) {
  probe_.count(call.driver, call.operation, outcome);
  throw sdk::TemporaryDriverError(std::move(message));
}

}  // namespace flint::drivers
