#pragma once

/// @file
/// Per-request log context (`tracectx.*`, tenant) carried into every log line
/// the request causes, on whichever thread writes it.

#include <string>
#include <utility>
#include <vector>

namespace flint::logging {

/// Ordered key/value fields added to every log line written under a scope.
/// Keys are final (`tracectx.transactionid`, `tenantId`).
using LogFields = std::vector<std::pair<std::string, std::string>>;

/// Installs `fields` as the current thread's log context for its lifetime.
///
/// Log lines are formatted synchronously on the writing thread, so a scope
/// around a call (an HTTP handler step, a driver call on a worker thread) is
/// all it takes for the call's lines to carry the context. Scopes nest; the
/// innermost wins. `fields` must outlive the scope.
class ScopedLogContext {
 public:
  explicit ScopedLogContext(const LogFields& fields) noexcept;
  ~ScopedLogContext();
  ScopedLogContext(const ScopedLogContext&) = delete;
  ScopedLogContext& operator=(const ScopedLogContext&) = delete;

 private:
  const LogFields* previous_;
};

/// The current thread's log context, or null outside any scope.
const LogFields* current_log_context() noexcept;

}  // namespace flint::logging
