#pragma once

/// @file
/// The process's limit on open files (RLIMIT_NOFILE), which bounds the
/// listener's connections: each takes one descriptor.

#include <cstddef>
#include <cstdint>

namespace flint::http {

/// Descriptors the host keeps for itself besides its connections: the
/// databases and their journals, Kafka, the log, the listener, driver calls
/// and the files they open. `http.max_connections` plus this should fit
/// under the limit on open files.
inline constexpr std::size_t kReservedFileDescriptors = 64;

/// The limit on open files, before and after `raise_open_file_limit`.
struct OpenFileLimit {
  std::uint64_t soft_before = 0;  ///< soft limit found at start
  std::uint64_t soft = 0;         ///< soft limit now
  std::uint64_t hard = 0;         ///< hard limit (a process cannot raise it)
};

/// Raises the soft RLIMIT_NOFILE to the hard limit, as nginx and Envoy do:
/// the soft limit of a shell or a systemd service is often 1024, below the
/// default `http.max_connections`. Leaves it as it is when it cannot.
OpenFileLimit raise_open_file_limit();

}  // namespace flint::http
