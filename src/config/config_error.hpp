#pragma once

/// @file
/// The error raised when a configuration cannot be loaded.

#include <stdexcept>
#include <string>
#include <vector>

namespace flint::config {

/// Everything wrong with a configuration, found in one pass.
///
/// `what()` lists every problem, one per line, in the order found (file in
/// document order, then environment variables by name, then cross-checks), so
/// an operator fixes them all at once. Messages name the dotted key or the
/// variable, what was expected and what was found; values of secret options
/// are never echoed.
class ConfigError : public std::runtime_error {
 public:
  /// @param errors one message per problem; must not be empty.
  explicit ConfigError(std::vector<std::string> errors);

  /// The individual problems, one message each.
  const std::vector<std::string>& errors() const noexcept { return errors_; }

 private:
  std::vector<std::string> errors_;
};

}  // namespace flint::config
