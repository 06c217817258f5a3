#include "logging/log_context.hpp"

namespace flint::logging {
namespace {
thread_local const LogFields* t_current = nullptr;
}  // namespace

ScopedLogContext::ScopedLogContext(const LogFields& fields) noexcept : previous_(t_current) {
  t_current = &fields;
}

ScopedLogContext::~ScopedLogContext() {
  t_current = previous_;
}

const LogFields* current_log_context() noexcept {
  return t_current;
}

}  // namespace flint::logging
