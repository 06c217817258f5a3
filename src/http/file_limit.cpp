#include "http/file_limit.hpp"

#include <sys/resource.h>

namespace flint::http {

OpenFileLimit raise_open_file_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return {};
  OpenFileLimit result{
      .soft_before = limit.rlim_cur, .soft = limit.rlim_cur, .hard = limit.rlim_max};
  if (limit.rlim_cur < limit.rlim_max) {
    const rlimit raised{limit.rlim_max, limit.rlim_max};
    // Fails when the hard limit is above what the kernel allows one process
    // (fs.nr_open): the soft limit stays.
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) result.soft = raised.rlim_cur;
  }
  return result;
}

}  // namespace flint::http
