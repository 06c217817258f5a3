#include "config/config_file.hpp"

#include <array>
#include <cerrno>
#include <string>
#include <string_view>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace flint::config {
namespace {

// The OS's reason for `error`; std::strerror is not thread-safe.
std::string reason(int error) {
  return std::system_category().message(error);
}

// What a file that is neither regular nor a directory is, for the message.
std::string_view kind_of(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return {};
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

std::variant<std::string, ConfigFileProblem> read_config_file(const std::filesystem::path& path,
                                                              std::uint64_t max_size) {
  const std::string name = "configuration file '" + path.string() + "'";
  const auto problem = [&](std::string text) { return ConfigFileProblem{name + std::move(text)}; };
  const auto not_regular = [&](mode_t mode) {
    if (S_ISDIR(mode)) return problem(" is a directory, not a file");
    const auto kind = kind_of(mode);
    if (kind.empty()) return problem(" is not a regular file");
    return problem(" is " + std::string(kind) + ", not a regular file");
  };
  const auto too_large = [&] { return problem(" is larger than " + format_size(max_size)); };

  // stat first: opening a FIFO would block until a writer comes, and opening a
  // device may act on it.
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) {
    const int error = errno;
    if (error == ENOENT) return problem(" does not exist");
    return problem(" cannot be read: " + reason(error));
  }
  if (!S_ISREG(status.st_mode)) return not_regular(status.st_mode);

  // O_NONBLOCK: should the path have become a FIFO since, open must not block.
  const FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) return problem(" cannot be read: " + reason(errno));
  if (::fstat(fd.get(), &status) != 0) return problem(" cannot be read: " + reason(errno));
  if (!S_ISREG(status.st_mode)) return not_regular(status.st_mode);
  if (static_cast<std::uint64_t>(status.st_size) > max_size) return too_large();

  // Read to the end, not st_size bytes: /proc files say 0 and a file may grow.
  std::string text;
  std::array<char, 16 * 1024> buffer{};
  while (true) {
    const ssize_t count = ::read(fd.get(), buffer.data(), buffer.size());
    if (count < 0) {
      if (errno == EINTR) continue;
      return problem(" cannot be read: " + reason(errno));
    }
    if (count == 0) break;
    if (text.size() + static_cast<std::uint64_t>(count) > max_size) return too_large();
    text.append(buffer.data(), static_cast<std::size_t>(count));
  }
  return text;
}

}  // namespace flint::config
