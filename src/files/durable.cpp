#include "files/durable.hpp"

#include <cerrno>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace flint::files {

namespace fs = std::filesystem;

std::error_code sync_directory(const fs::path& directory) noexcept {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return {errno, std::system_category()};
  const int synced = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  // EINVAL: a file system that cannot sync a directory (as SQLite, go on).
  if (synced == 0 || error == EINVAL) return {};
  return {error, std::system_category()};
}

std::error_code create_private_directory(const fs::path& path) {
  // Component by component: create_directories would give the parents it
  // creates the umask's mode (0777 under umask 000).
  fs::path partial;
  for (const auto& component : path) {
    partial /= component;
    if (::mkdir(partial.c_str(), 0700) == 0) {
      // The umask may have taken owner bits too.
      std::error_code ec;
      fs::permissions(partial, fs::perms::owner_all, fs::perm_options::replace, ec);
      if (ec) return ec;
      // The new entry must survive a power loss, or what is synced inside
      // the directory goes with it.
      const auto parent = partial.has_parent_path() ? partial.parent_path() : fs::path(".");
      if (const auto synced = sync_directory(parent)) return synced;
    } else if (errno != EEXIST) {
      return {errno, std::system_category()};
    }
  }
  std::error_code ec;
  if (!fs::is_directory(path, ec) && !ec) {
    ec = std::make_error_code(std::errc::not_a_directory);
  }
  return ec;
}

}  // namespace flint::files
