#pragma once

#include <chrono>
#include <string>

#include <flint/sdk/errors.hpp>

namespace flint::drivers {

/// A temporary refusal of the host's own whose end it can tell (an open
/// circuit breaker): the API answers it 503 with `Retry-After`.
class RetryLaterError : public sdk::TemporaryDriverError {
 public:
  RetryLaterError(std::string message, std::chrono::milliseconds retry_in)
      : sdk::TemporaryDriverError(std::move(message)), retry_in_(retry_in) {}

  /// When to try again.
  std::chrono::milliseconds retry_in() const noexcept { return retry_in_; }

 private:
  std::chrono::milliseconds retry_in_;
};

}  // namespace flint::drivers
