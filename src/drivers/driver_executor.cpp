#include "drivers/driver_executor.hpp"

#include <string>
#include <system_error>

#include "logging/thread_name.hpp"

namespace flint::drivers {

DriverExecutor::DriverExecutor(Options options, DriverCallProbe& probe)
    : options_(options), probe_(probe) {
  threads_.reserve(options_.threads);
  try {
    for (std::size_t i = 0; i < options_.threads; ++i) {
      threads_.emplace_back([this, i] { worker(i); });
    }
  } catch (const std::system_error& e) {
    // No destructor runs for a half-built object, and a joinable thread
    // destroyed unjoined would terminate the process: stop the started ones.
    const std::size_t started = threads_.size();
    shutdown();
    throw std::system_error(e.code(), "cannot start driver thread " + std::to_string(started + 1) +
                                          " of " + std::to_string(options_.threads));
  }
}

DriverExecutor::~DriverExecutor() {
  shutdown();
}

bool DriverExecutor::shutdown(std::chrono::milliseconds grace) {
  {
    std::unique_lock lock(mutex_);
    if (threads_.empty()) return drained_;
    stopping_ = true;
    probe_.queued().Decrement(static_cast<double>(queue_.size()));
    queue_.clear();
    wake_.notify_all();
    drained_ = idle_.wait_for(lock, grace, [this] { return running_.load() == 0; });
  }
  for (auto& thread : threads_) {
    if (drained_) {
      thread.join();
    } else {
      thread.detach();  // still inside driver code; the process must exit soon
    }
  }
  threads_.clear();
  return drained_;
}

bool DriverExecutor::submit(Call call, std::function<void()> work) {
  // Every status poll comes this way: one task, without submit_each's list.
  const bool accepted =
      try_enqueue([this, work = std::move(work), driver = std::string(call.driver),
                   operation = std::string(call.operation),
                   deadline = call.deadline] { run_counted(driver, operation, deadline, work); },
                  call.deadline);
  if (!accepted) probe_.count(call.driver, call.operation, "rejected");
  return accepted;
}

void DriverExecutor::run_counted(std::string_view driver, std::string_view operation,
                                 std::chrono::steady_clock::time_point deadline,
                                 const std::function<void()>& work) {
  const auto started = std::chrono::steady_clock::now();
  if (started >= deadline) {
    probe_.count(driver, operation, "expired");
    return;
  }
  std::exception_ptr error;
  try {
    const logging::ScopedDriverCallNote note(driver, operation);  // named if it crashes
    work();
  } catch (...) {
    error = std::current_exception();
  }
  probe_.observe(driver, operation, std::chrono::steady_clock::now() - started);
  probe_.count(driver, operation, outcome_of(error));
}

bool DriverExecutor::submit_each(Call call, std::vector<std::function<void()>> works,
                                 std::function<void(std::size_t)> expired) {
  const std::size_t calls = works.size();
  const bool accepted = try_enqueue(
      [this, works = std::move(works), expired = std::move(expired),
       driver = std::string(call.driver), operation = std::string(call.operation),
       deadline = call.deadline] {
        if (std::chrono::steady_clock::now() >= deadline) {
          for (std::size_t i = 0; i < works.size(); ++i) probe_.count(driver, operation, "expired");
          if (expired) expired(works.size());
          return;
        }
        // Started in time: a slow call must not cost the later ones theirs.
        for (const auto& work : works) {
          run_counted(driver, operation, std::chrono::steady_clock::time_point::max(), work);
        }
      },
      call.deadline);
  if (!accepted) {
    for (std::size_t i = 0; i < calls; ++i) probe_.count(call.driver, call.operation, "rejected");
  }
  return accepted;
}

std::size_t DriverExecutor::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

bool DriverExecutor::try_enqueue(std::function<void()> task,
                                 std::chrono::steady_clock::time_point deadline) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    if (queue_.size() >= options_.queue_size) {
      // Calls whose callers gave up still hold slots: free them first.
      const auto now = std::chrono::steady_clock::now();
      const auto before = queue_.size();
      std::erase_if(queue_, [now](const Queued& queued) { return queued.deadline <= now; });
      probe_.queued().Decrement(static_cast<double>(before - queue_.size()));
      if (queue_.size() >= options_.queue_size) return false;
    }
    queue_.push_back({deadline, std::move(task)});
    wake = claim_wake();
  }
  probe_.queued().Increment();
  if (wake) wake_.notify_one();
  return true;
}

bool DriverExecutor::claim_wake() noexcept {
  // Waking a thread is a futex call and a context switch (on a VM, an
  // interrupt to another CPU): more than a short driver call costs. One
  // wake-up in flight is enough: the worker it wakes wakes the next one if
  // tasks are still waiting, and busy workers take queued tasks as they
  // finish, so a burst costs the caller one wake-up, not one per task.
  if (waking_ > 0 || sleeping_ == 0 || queue_.empty()) return false;
  ++waking_;
  return true;
}

void DriverExecutor::worker(std::size_t index) {
  logging::set_thread_name(options_.thread_name + "-" + std::to_string(index));
  logging::set_batch_scheduling();  // a queued call does not preempt the network thread
  const logging::AlternateSignalStack signal_stack;  // a driver's stack overflow is reported
  for (;;) {
    std::function<void()> task;
    bool wake = false;
    {
      std::unique_lock lock(mutex_);
      while (!stopping_ && queue_.empty()) {
        ++sleeping_;
        wake_.wait(lock);
        --sleeping_;
        if (waking_ > 0) --waking_;
      }
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front().task);
      queue_.pop_front();
      ++running_;  // under the lock, so shutdown never sees a popped task as idle
      wake = claim_wake();
    }
    if (wake) wake_.notify_one();
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
  if (outcome == "rejected") throw CallRejected(std::move(message));
  if (outcome == "expired") throw CallExpiredInQueue(std::move(message));
  throw CallTimedOut(std::move(message));
}

}  // namespace flint::drivers
