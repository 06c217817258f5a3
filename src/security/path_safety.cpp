#include "security/path_safety.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace flint::security {

namespace fs = std::filesystem;

std::string changeable_by_others(const fs::path& path, bool strict) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return {};
  const bool sticky = (info.st_mode & S_ISVTX) != 0;
  if ((info.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (strict || !sticky)) {
    return fmt::format("group or others may write to {} (mode {:04o}); chmod go-w it",
                       path.string(), info.st_mode & 07777);
  }
  if (info.st_uid != 0 && info.st_uid != ::geteuid()) {
    return fmt::format("{} belongs to user {}, neither root nor Flint's user ({}); chown it",
                       path.string(), info.st_uid, ::geteuid());
  }
  return {};
}

std::string folders_above_changeable(const fs::path& path) {
  std::error_code error;
  const fs::path real = fs::canonical(path, error);
  if (error) return {};
  // The folders of the path as given too: whoever may change one could
  // replace a link in it, which the real path no longer shows.
  const fs::path given = fs::absolute(path, error);
  for (const fs::path& way : {given, real}) {
    if (way.empty()) continue;
    for (fs::path folder = way.parent_path();; folder = folder.parent_path()) {
      if (auto problem = changeable_by_others(folder, false); !problem.empty()) return problem;
      if (folder == folder.root_path()) break;
    }
  }
  return {};
}

std::string others_may_change(const fs::path& path) {
  std::error_code error;
  const fs::path real = fs::canonical(path, error);
  if (error) return {};
  if (auto problem = changeable_by_others(real, true); !problem.empty()) return problem;
  return folders_above_changeable(path);
}

}  // namespace flint::security
