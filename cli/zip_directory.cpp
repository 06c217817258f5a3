#include "zip_directory.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

namespace flint::cli {
namespace {

namespace fs = std::filesystem;

// 1980-01-01T00:00:00Z, the earliest time a ZIP header can hold.
constexpr std::time_t kFixedTime = 315532800;

struct Item {
  std::string name;  // relative, '/'-separated; directories end with '/'
  fs::path path;
  bool directory = false;
  bool executable = false;
};

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

la_ssize_t append(archive*, void* out, const void* data, size_t size) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(data), size);
  return static_cast<la_ssize_t>(size);
}

std::vector<Item> collect(const fs::path& root) {
  std::vector<Item> items;
  std::error_code error;
  fs::recursive_directory_iterator it(root, fs::directory_options::none, error);
  if (error) throw ZipError(root.string() + ": " + error.message());
  for (const fs::recursive_directory_iterator end; it != end;) {
    const fs::path path = it->path();
    const std::string name = path.lexically_relative(root).generic_string();
    const bool link = it->is_symlink();
    // status() follows links: a link to a file is packed as that file.
    const fs::file_status status = fs::status(path, error);
    if (error && !link) throw ZipError(path.string() + ": " + error.message());
    if (link && fs::is_directory(status)) {
      throw ZipError(path.string() + ": a symbolic link to a directory cannot be packed");
    }
    if (fs::is_directory(status)) {
      items.push_back({name + "/", path, true, false});
    } else if (fs::is_regular_file(status)) {
      const auto perms = status.permissions();
      const bool executable =
          (perms & (fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec)) !=
          fs::perms::none;
      items.push_back({name, path, false, executable});
    } else if (link) {
      throw ZipError(path.string() + ": dangling symbolic link");
    } else {
      throw ZipError(path.string() + ": not a regular file or directory; cannot be packed");
    }
    error.clear();
    // Checked here: a failed step also ends the iteration, and a directory
    // that cannot be opened would silently leave the rest out.
    it.increment(error);
    if (error) throw ZipError(path.string() + ": cannot be read: " + error.message());
  }
  return items;
}

std::string read_file(const fs::path& path) {
  const auto failure = [&] {
    return ZipError(path.string() + ": cannot be read: " + std::strerror(errno));
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw failure();
  std::string data;
  char chunk[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const ZipError error = failure();
      ::close(fd);
      throw error;
    }
    if (n == 0) break;
    data.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return data;
}

}  // namespace

std::string zip_directory(const fs::path& root) {
  std::error_code error;
  if (!fs::is_directory(root, error)) {
    throw ZipError(root.string() + ": not a directory" + (error ? ": " + error.message() : ""));
  }
  std::vector<Item> items = collect(root);
  if (std::none_of(items.begin(), items.end(), [](const Item& i) { return !i.directory; })) {
    throw ZipError(root.string() + ": holds no file to send as driver files");
  }
  std::sort(items.begin(), items.end(),
            [](const Item& a, const Item& b) { return a.name < b.name; });

  std::string out;
  std::unique_ptr<archive, ArchiveDeleter> writer(archive_write_new());
  if (!writer) throw ZipError("libarchive: out of memory");
  auto check = [&](int status, const std::string& what) {
    if (status < ARCHIVE_WARN) {
      const char* message = archive_error_string(writer.get());
      throw ZipError(what + ": " + (message ? message : "libarchive error"));
    }
  };
  check(archive_write_set_format_zip(writer.get()), "zip format");
  check(archive_write_set_bytes_in_last_block(writer.get(), 1), "zip format");
  check(archive_write_open(writer.get(), &out, nullptr, append, nullptr), "zip writer");
  for (const Item& item : items) {
    std::unique_ptr<archive_entry, EntryDeleter> entry(archive_entry_new());
    archive_entry_set_pathname(entry.get(), item.name.c_str());
    archive_entry_set_mtime(entry.get(), kFixedTime, 0);
    archive_entry_set_uid(entry.get(), 0);
    archive_entry_set_gid(entry.get(), 0);
    std::string data;
    if (item.directory) {
      archive_entry_set_filetype(entry.get(), AE_IFDIR);
      archive_entry_set_perm(entry.get(), 0755);
      archive_entry_set_size(entry.get(), 0);
    } else {
      data = read_file(item.path);
      archive_entry_set_filetype(entry.get(), AE_IFREG);
      archive_entry_set_perm(entry.get(), item.executable ? 0755 : 0644);
      archive_entry_set_size(entry.get(), static_cast<la_int64_t>(data.size()));
    }
    check(archive_write_header(writer.get(), entry.get()), item.path.string());
    if (!data.empty()) {
      const la_ssize_t written = archive_write_data(writer.get(), data.data(), data.size());
      if (written < 0 || static_cast<std::size_t>(written) != data.size()) {
        check(ARCHIVE_FATAL, item.path.string());
      }
    }
  }
  check(archive_write_close(writer.get()), "zip writer");
  return out;
}

}  // namespace flint::cli
