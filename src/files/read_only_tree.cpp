#include "files/read_only_tree.hpp"

namespace flint::files {

namespace fs = std::filesystem;

bool remove_read_only_tree(const fs::path& path, std::error_code& error) noexcept {
  error.clear();
  const auto status = fs::symlink_status(path, error);
  if (error) {
    if (error == std::errc::no_such_file_or_directory) {
      error.clear();
      return true;
    }
    return false;
  }
  if (fs::is_directory(status)) {
    // Give every directory its write bit back; best effort: remove_all reports what remains.
    // Never through a link, even one swapped in for a directory since it was listed.
    constexpr auto add = fs::perm_options::add | fs::perm_options::nofollow;
    std::error_code ignored;
    fs::permissions(path, fs::perms::owner_all, add, ignored);
    for (auto it = fs::recursive_directory_iterator(path, ignored);
         !ignored && it != fs::recursive_directory_iterator(); it.increment(ignored)) {
      if (it->is_directory(ignored) && !it->is_symlink(ignored)) {
        fs::permissions(it->path(), fs::perms::owner_all, add, ignored);
      }
    }
  }
  // An entry another remover took meanwhile is not a failure: look again.
  for (int attempt = 0; attempt < 3; ++attempt) {
    fs::remove_all(path, error);
    if (error != std::errc::no_such_file_or_directory) break;
  }
  return !error;
}

void remove_read_only_tree(const fs::path& path) {
  std::error_code error;
  if (!remove_read_only_tree(path, error)) {
    throw fs::filesystem_error("cannot remove extracted package", path, error);
  }
}

}  // namespace flint::files
