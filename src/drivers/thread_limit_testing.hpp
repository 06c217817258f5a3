#pragma once

/// @file
/// For death tests of thread start failures: a child process whose threads
/// soon hit the limit on processes.

#include <cstdlib>

#include <sys/resource.h>
#include <unistd.h>

namespace flint::drivers::testing {

/// Whether this process may run a child as `nobody` (root ignores
/// RLIMIT_NPROC, so the child must drop to another user).
inline bool can_limit_threads() {
  return ::geteuid() == 0;
}

/// In a death test's child: limits the processes of `nobody` to four (this
/// process and about three threads) and becomes `nobody`; exits with status 3
/// when it cannot.
inline void limit_threads_to_about_three() {
  const rlimit limit{4, 4};
  if (::setrlimit(RLIMIT_NPROC, &limit) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) {
    std::_Exit(3);
  }
}

}  // namespace flint::drivers::testing
