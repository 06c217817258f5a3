#include "config/environment.hpp"

#include <string_view>

extern "C" char** environ;  // NOLINT: POSIX global, declared by no standard header

namespace flint::config {

Environment process_environment() {
  Environment env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const auto eq = text.find('=');
    // An entry without '=' is malformed; the C library ignores it too.
    if (eq == std::string_view::npos || eq == 0) continue;
    env.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
  }
  return env;
}

}  // namespace flint::config
