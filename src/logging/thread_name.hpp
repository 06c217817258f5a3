#pragma once

/// @file
/// Names for our threads (`io-0`, `driver-3`), shown in every log line.

#include <string>

namespace flint::logging {

/// Names the calling thread, for logs and debuggers (truncated to 15
/// characters for the kernel).
void set_thread_name(std::string name);

/// The calling thread's name, or empty if it was never named.
const std::string& current_thread_name() noexcept;

}  // namespace flint::logging
