#pragma once

/// @file
/// Who our threads are: their names (`io-0`, `driver-3`), shown in every log
/// line, and how the kernel schedules the workers among them.

#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

namespace flint::logging {

/// Names the calling thread, for logs and debuggers (truncated to 15
/// characters for the kernel).
void set_thread_name(std::string name);

/// The calling thread's name, or empty if it was never named.
const std::string& current_thread_name() noexcept;

/// Puts the calling thread in Linux's batch scheduling class (`SCHED_BATCH`,
/// same priority): when it wakes, it does not preempt the thread running on
/// the core. For workers that other threads hand work to (the driver pool,
/// the event relay): on a busy machine the network thread that queued a call
/// goes on serving its connections instead of being switched out at once,
/// and the worker runs when a core is free, often finding more work queued.
/// With a core idle it runs at once, as before. A process the thread forks
/// inherits the class (the script driver starts its scripts in the normal
/// one). Best effort: a refusal changes nothing and is not reported.
void set_batch_scheduling() noexcept;

/// Runs `body` on a new thread. When the thread cannot start (the limit on
/// processes, `ulimit -u` or systemd's `TasksMax`, or memory), the
/// `std::system_error` says which one (`cannot start <what>: ...`), not
/// only the system's "Resource temporarily unavailable".
template <class Body>
std::thread start_thread(std::string_view what, Body&& body) {
  try {
    return std::thread(std::forward<Body>(body));
  } catch (const std::system_error& e) {
    throw std::system_error(e.code(), "cannot start " + std::string(what));
  }
}

}  // namespace flint::logging
