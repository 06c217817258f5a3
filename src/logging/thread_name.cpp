#include "logging/thread_name.hpp"

#include <pthread.h>
#include <sched.h>

namespace flint::logging {
namespace {
thread_local std::string t_name;
}  // namespace

void set_thread_name(std::string name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
  t_name = std::move(name);
}

const std::string& current_thread_name() noexcept {
  return t_name;
}

void set_batch_scheduling() noexcept {
  const sched_param normal_priority{};
  // Linux applies the policy to the calling thread only (pid 0 = itself).
  (void)sched_setscheduler(0, SCHED_BATCH, &normal_priority);
}

}  // namespace flint::logging
