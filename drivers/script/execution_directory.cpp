#include "script/execution_directory.hpp"

#include <cerrno>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace flint::drivers::script {
namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// Closes a descriptor on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

void ExecutionDirectory::create() const {
  if (::mkdir(path_.c_str(), 0700) != 0) fail("create " + path_.string());
}

bool ExecutionDirectory::exists() const {
  struct stat st {};
  return ::stat(path_.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void ExecutionDirectory::write(std::string_view name, std::string_view content) const {
  const std::filesystem::path target = file(name);
  const std::filesystem::path temporary = target.string() + ".tmp";
  {
    Fd out{::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
    if (out.fd < 0) fail("write " + target.string());
    std::size_t done = 0;
    while (done < content.size()) {
      const ssize_t n = ::write(out.fd, content.data() + done, content.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        fail("write " + target.string());
      }
      done += static_cast<std::size_t>(n);
    }
    // The state must survive a host crash: it is what a restarted host reads.
    if (::fsync(out.fd) != 0) fail("fsync " + target.string());
  }
  if (::rename(temporary.c_str(), target.c_str()) != 0) fail("rename " + target.string());
}

std::optional<std::string> ExecutionDirectory::read(std::string_view name) const {
  Fd in{::open(file(name).c_str(), O_RDONLY | O_CLOEXEC)};
  if (in.fd < 0) return std::nullopt;
  std::string content;
  char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(in.fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::nullopt;
    }
    if (n == 0) break;
    content.append(buffer, static_cast<std::size_t>(n));
  }
  return content;
}

std::string ExecutionDirectory::read_tail(std::string_view name, std::size_t max_bytes) const {
  Fd in{::open(file(name).c_str(), O_RDONLY | O_CLOEXEC)};
  if (in.fd < 0) return {};
  struct stat st {};
  if (::fstat(in.fd, &st) != 0) return {};
  const auto size = static_cast<std::size_t>(st.st_size);
  const std::size_t offset = size > max_bytes ? size - max_bytes : 0;
  std::string content(size - offset, '\0');
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::pread(in.fd, content.data() + done, content.size() - done,
                              static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  content.resize(done);
  return content;
}

bool ExecutionDirectory::has(std::string_view name) const {
  struct stat st {};
  return ::stat(file(name).c_str(), &st) == 0;
}

void ExecutionDirectory::remove() const noexcept {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace flint::drivers::script
