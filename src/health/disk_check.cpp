#include "health/disk_check.hpp"

#include <algorithm>

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace flint::health {

bool DiskCheck::Space::low() const noexcept {
  return free_bytes < std::min<std::uint64_t>(100 * 1024 * 1024, total_bytes / 10);
}

DiskCheck::DiskCheck(std::filesystem::path dir, std::vector<std::string> files)
    : dir_(std::move(dir)), files_(std::move(files)) {}

DiskCheck::Space DiskCheck::read() {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (read_at_ != std::chrono::steady_clock::time_point{} &&
      now - read_at_ < std::chrono::seconds(1)) {
    return last_;
  }
  Space space;
  struct statvfs disk {};
  struct stat info {};
  const char* dir = dir_.c_str();
  space.writable = ::stat(dir, &info) == 0 && S_ISDIR(info.st_mode) &&
                   ::access(dir, W_OK | X_OK) == 0 && ::statvfs(dir, &disk) == 0;
  if (space.writable) {
    space.free_bytes = std::uint64_t{disk.f_bavail} * disk.f_frsize;
    space.total_bytes = std::uint64_t{disk.f_blocks} * disk.f_frsize;
    if (disk.f_files > 0) space.free_inodes = disk.f_favail;
  }
  for (const auto& file : files_) {
    struct stat file_info {};
    if (::stat((dir_ / file).c_str(), &file_info) == 0) {
      space.files_bytes += static_cast<std::uint64_t>(file_info.st_size);
    }
  }
  last_ = space;
  read_at_ = now;
  return last_;
}

}  // namespace flint::health
