#include "script/execution_directory.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files/durable.hpp"
#include "files/read_only_tree.hpp"

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

// Opens `path` for reading if it is a regular file. O_NONBLOCK: opening a
// FIFO must not wait for a writer; O_NOFOLLOW: a link is refused (ELOOP).
// Sets `result.status` when it returns -1.
int open_regular(const std::filesystem::path& path, FileContent& result) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    result.status = errno == ENOENT  ? FileContent::Status::missing
                    : errno == ELOOP ? FileContent::Status::not_regular
                    : errno == ENXIO ? FileContent::Status::not_regular  // socket
                                     : FileContent::Status::unreadable;
    result.error = std::error_code(errno, std::generic_category());
    return -1;
  }
  struct stat st {};
  const bool stated = ::fstat(fd, &st) == 0;
  if (!stated || !S_ISREG(st.st_mode)) {
    result.status = stated ? FileContent::Status::not_regular : FileContent::Status::unreadable;
    if (!stated) result.error = std::error_code(errno, std::generic_category());
    ::close(fd);
    return -1;
  }
  // Regular from here on: back to ordinary blocking reads.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

// Makes the entries of `directory` (a name just created or renamed) durable:
// without it a power loss can take a file whose content was synced.
void sync_directory(const std::filesystem::path& directory) {
  if (const std::error_code error = files::sync_directory(directory)) {
    throw std::system_error(error, "fsync " + directory.string());
  }
}

FileContent& unreadable(FileContent& result) {
  result.status = FileContent::Status::unreadable;
  result.error = std::error_code(errno, std::generic_category());
  result.content.clear();
  return result;
}

}  // namespace

void ExecutionDirectory::create() const {
  if (::mkdir(path_.c_str(), 0700) != 0) fail("create " + path_.string());
  sync_directory(path_.parent_path());
}

bool ExecutionDirectory::exists() const {
  struct stat st {};
  return ::stat(path_.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void ExecutionDirectory::write(std::string_view name, std::string_view content) const {
  reclaim();
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
  sync_directory(path_);
}

FileContent ExecutionDirectory::read_regular(std::string_view name, std::size_t max_bytes) const {
  FileContent result;
  Fd in{open_regular(file(name), result)};
  if (in.fd < 0) return result;
  struct stat st {};
  if (::fstat(in.fd, &st) != 0) return unreadable(result);
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    result.status = FileContent::Status::too_large;
    return result;
  }
  char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(in.fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return unreadable(result);
    }
    if (n == 0) break;
    // It may grow while we read: the limit holds all the same.
    if (result.content.size() + static_cast<std::size_t>(n) > max_bytes) {
      result.content.clear();
      result.status = FileContent::Status::too_large;
      return result;
    }
    result.content.append(buffer, static_cast<std::size_t>(n));
  }
  result.status = FileContent::Status::ok;
  return result;
}

std::optional<std::string> ExecutionDirectory::read(std::string_view name) const {
  auto result = read_regular(name);
  if (result.status == FileContent::Status::unreadable) {
    throw UnreadableFileError(result.error, file(name));
  }
  if (result.status != FileContent::Status::ok) return std::nullopt;
  return std::move(result.content);
}

std::string ExecutionDirectory::read_tail(
    std::string_view name, std::size_t max_bytes,
    const std::function<void(std::string_view)>& skipped) const {
  FileContent status;
  Fd in{open_regular(file(name), status)};
  if (status.status == FileContent::Status::unreadable) {
    throw UnreadableFileError(status.error, file(name));
  }
  if (in.fd < 0) return {};
  struct stat st {};
  if (::fstat(in.fd, &st) != 0) {
    throw UnreadableFileError(std::error_code(errno, std::generic_category()), file(name));
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  const std::size_t offset = size > max_bytes ? size - max_bytes : 0;
  // Sequential reads of the part before the tail, in bounded pieces.
  auto read_at = [&](char* into, std::size_t count, std::size_t at) {
    std::size_t done = 0;
    while (done < count) {
      const ssize_t n = ::pread(in.fd, into + done, count - done, static_cast<off_t>(at + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    return done;
  };
  if (skipped) {
    char buffer[65536];
    for (std::size_t at = 0; at < offset;) {
      const std::size_t got = read_at(buffer, std::min(sizeof buffer, offset - at), at);
      if (got == 0) break;
      skipped(std::string_view(buffer, got));
      at += got;
    }
  }
  std::string content(size - offset, '\0');
  content.resize(read_at(content.data(), content.size(), offset));
  return content;
}

bool ExecutionDirectory::has(std::string_view name) const {
  struct stat st {};
  return ::stat(file(name).c_str(), &st) == 0;
}

std::error_code ExecutionDirectory::remove() const noexcept {
  std::error_code error;
  files::remove_read_only_tree(path_, error);
  return error;
}

void ExecutionDirectory::reclaim() const noexcept {
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0 && S_ISDIR(st.st_mode) &&
      (st.st_mode & S_IRWXU) != S_IRWXU) {
    // Not through a link swapped in since the lstat.
    ::fchmodat(AT_FDCWD, path_.c_str(), (st.st_mode & 07777) | S_IRWXU, AT_SYMLINK_NOFOLLOW);
  }
}

}  // namespace flint::drivers::script
