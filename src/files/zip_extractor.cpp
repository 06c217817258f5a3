#include "files/zip_extractor.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <unordered_set>
#include <utility>
#include <vector>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <locale.h>
#include <sys/stat.h>
#include <unistd.h>

#include <flint/sdk/errors.hpp>
#include <flint/sdk/json.hpp>

#include "files/read_only_tree.hpp"

namespace flint::files {
namespace {

namespace fs = std::filesystem;
using flint::sdk::InvalidDriverFilesError;

constexpr std::size_t kMaxComponentLength = 255;  // NAME_MAX on Linux file systems

/// Makes this thread's character set UTF-8 while it lives. libarchive
/// converts a name flagged as UTF-8 to the locale's character set, which in
/// the process's C locale fails for any non-ASCII name.
class Utf8Names {
 public:
  Utf8Names() : previous_(utf8() != locale_t{} ? ::uselocale(utf8()) : locale_t{}) {}
  ~Utf8Names() {
    if (previous_ != locale_t{}) ::uselocale(previous_);
  }
  Utf8Names(const Utf8Names&) = delete;
  Utf8Names& operator=(const Utf8Names&) = delete;

 private:
  static locale_t utf8() {
    static const locale_t locale = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t{});
    return locale;
  }
  locale_t previous_;
};

/// A file descriptor closed on scope exit.
class Fd {
 public:
  explicit Fd(int fd = -1) noexcept : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const noexcept { return fd_; }
  void reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  /// Closes and reports the error close() may return (deferred write errors).
  int close() noexcept { return ::close(std::exchange(fd_, -1)); }

 private:
  int fd_;
};

struct ArchiveDeleter {
  void operator()(archive* a) const noexcept { archive_read_free(a); }
};

[[noreturn]] void refuse(std::string message) {
  throw InvalidDriverFilesError(std::move(message));
}

[[noreturn]] void throw_errno(int error, const std::string& what) {
  throw std::system_error(error, std::generic_category(), what);
}

/// An entry name fit for a one-line message: control bytes masked, length capped.
std::string quoted(std::string_view name) {
  return "'" + sdk::json::printable(name) + "'";
}

// libarchive gives entry names as C strings, cut at a NUL byte: an entry
// that an archive scanner lists as "Create.sh\0.txt" would be extracted as
// "Create.sh". So the names are read here from the archive's own records:
// each central directory entry and the local header it points to. A
// structure that cannot be walked is left to libarchive, which refuses it.
std::optional<std::string_view> name_with_nul(std::string_view zip) {
  const auto u16 = [&](std::uint64_t at) -> std::uint64_t {
    if (at >= zip.size() || zip.size() - at < 2) return 0;  // offsets come from the archive
    return static_cast<unsigned char>(zip[at]) | static_cast<unsigned char>(zip[at + 1]) << 8;
  };
  const auto u32 = [&](std::uint64_t at) -> std::uint64_t { return u16(at) | u16(at + 2) << 16; };
  const auto u64 = [&](std::uint64_t at) -> std::uint64_t { return u32(at) | u32(at + 4) << 32; };
  const auto name_at = [&](std::uint64_t at,
                           std::uint64_t size) -> std::optional<std::string_view> {
    if (at > zip.size() || size > zip.size() - at) return std::nullopt;
    return zip.substr(at, size);
  };
  constexpr std::uint64_t kEnd = 0x06054b50, kEnd64 = 0x06064b50, kLocator64 = 0x07064b50,
                          kCentral = 0x02014b50, kLocal = 0x04034b50, kEndSize = 22;
  if (zip.size() < kEndSize) return std::nullopt;
  // The end record: 22 bytes, then a comment of up to 65535 bytes.
  std::uint64_t end = zip.size() - kEndSize;
  while (u32(end) != kEnd || end + kEndSize + u16(end + 20) != zip.size()) {
    if (end == 0 || zip.size() - end > kEndSize + 0xFFFF) return std::nullopt;
    --end;
  }
  std::uint64_t entries = u16(end + 10);
  std::uint64_t offset = u32(end + 16);
  if ((entries == 0xFFFF || offset == 0xFFFFFFFF) && end >= 20 && u32(end - 20) == kLocator64) {
    const std::uint64_t end64 = u64(end - 12);
    if (u32(end64) != kEnd64) return std::nullopt;
    entries = u64(end64 + 32);
    offset = u64(end64 + 48);
  }
  const auto has_nul = [](std::string_view name) {
    return name.find('\0') != std::string_view::npos;
  };
  for (std::uint64_t i = 0; i < entries; ++i) {
    if (u32(offset) != kCentral) return std::nullopt;
    const std::uint64_t name_size = u16(offset + 28);
    const auto name = name_at(offset + 46, name_size);
    if (!name) return std::nullopt;
    if (has_nul(*name)) return name;
    if (const std::uint64_t local = u32(offset + 42); local != 0xFFFFFFFF && u32(local) == kLocal) {
      const auto local_name = name_at(local + 30, u16(local + 26));
      if (local_name && has_nul(*local_name)) return local_name;
    }
    offset += 46 + name_size + u16(offset + 30) + u16(offset + 32);
  }
  return std::nullopt;
}

std::string archive_message(archive* a) {
  const char* message = archive_error_string(a);
  std::string text = message != nullptr ? message : "unknown error";
  std::replace_if(
      text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return text;
}

/// Splits an entry name into its normalised components, refusing anything
/// that could point outside the root. Empty and "." components are dropped.
std::vector<std::string> normalise(std::string_view name, const ExtractionLimits& limits) {
  if (name.size() > limits.max_path_length) {
    refuse("driverFiles entry " + quoted(name) + " has a name longer than " +
           std::to_string(limits.max_path_length) + " bytes");
  }
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      refuse("driverFiles entry " + quoted(name) + " has a control character in its name");
    }
  }
  // Backslashes are separators, as Windows archivers write them (libarchive
  // already converts them; doing it here too keeps that true whatever its
  // version). The checks below then see through `..\`, `\abs` and `C:\`.
  if (!name.empty() && (name.front() == '/' || name.front() == '\\')) {
    refuse("driverFiles entry " + quoted(name) + " has an absolute path");
  }
  if (name.size() >= 2 && name[1] == ':' &&
      ((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z'))) {
    refuse("driverFiles entry " + quoted(name) + " starts with a drive letter");
  }
  std::vector<std::string> components;
  std::size_t start = 0;
  while (start <= name.size()) {
    const std::size_t end = std::min(name.find_first_of("/\\", start), name.size());
    const std::string_view part = name.substr(start, end - start);
    start = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      refuse("driverFiles entry " + quoted(name) + " escapes the package root ('..')");
    }
    if (part.size() > kMaxComponentLength) {
      refuse("driverFiles entry " + quoted(name) + " has a path component longer than " +
             std::to_string(kMaxComponentLength) + " bytes");
    }
    components.emplace_back(part);
  }
  return components;
}

std::string join(const std::vector<std::string>& components, std::size_t count) {
  std::string path;
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0) path += '/';
    path += components[i];
  }
  return path;
}

/// Writes one archive into an already created, empty directory.
class Extraction {
 public:
  Extraction(std::string_view bytes, const fs::path& destination, const ExtractionLimits& limits)
      : bytes_(bytes), destination_(destination), limits_(limits) {}

  ExtractionResult run() {
    root_ = Fd(::open(destination_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (root_.get() < 0) throw_errno(errno, "cannot open '" + destination_.string() + "'");

    std::unique_ptr<archive, ArchiveDeleter> reader(archive_read_new());
    if (!reader) throw std::bad_alloc();
    archive_ = reader.get();
    // ZIP only: no other format (tar, cpio...) or compression filter is ever tried.
    archive_read_support_format_zip(archive_);
    if (archive_read_open_memory(archive_, bytes_.data(), bytes_.size()) != ARCHIVE_OK) {
      refuse("driverFiles is not a ZIP archive: " + archive_message(archive_));
    }
    if (const auto name = name_with_nul(bytes_)) {
      refuse("driverFiles entry " + quoted(*name) + " has a control character in its name");
    }

    std::size_t count = 0;
    for (;;) {
      archive_entry* entry = nullptr;
      const int rc = archive_read_next_header(archive_, &entry);
      if (rc == ARCHIVE_EOF) break;
      if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
        if (count == 0) refuse("driverFiles is not a ZIP archive: " + archive_message(archive_));
        refuse("driverFiles is a corrupt ZIP archive: " + archive_message(archive_));
      }
      if (++count > limits_.max_entries) refuse_too_many_entries();
      extract_entry(entry, count);
    }

    // Read-only from now on: every request shares this tree.
    for (const auto& dir : directories_) {
      if (::fchmodat(root_.get(), dir.c_str(), 0555, 0) != 0) {
        throw_errno(errno, "cannot make '" + dir + "' read-only");
      }
    }
    if (::fchmod(root_.get(), 0555) != 0) {
      throw_errno(errno, "cannot make '" + destination_.string() + "' read-only");
    }
    result_.directories = directories_.size();
    return result_;
  }

 private:
  [[noreturn]] void refuse_too_many_entries() {
    refuse("driverFiles has more than " + std::to_string(limits_.max_entries) +
           " entries (files and directories, those its paths imply included)");
  }

  // Counts a file or directory made on disk. A path implies its parent
  // directories, made without entries of their own: counted by entries only,
  // 250 entries 400 directories deep made 100,000 directories.
  void note_created() {
    if (++created_ > limits_.max_entries) refuse_too_many_entries();
  }

  void extract_entry(archive_entry* entry, std::size_t index) {
    const char* raw_name = archive_entry_pathname(entry);
    if (raw_name == nullptr) {
      refuse("driverFiles entry #" + std::to_string(index) +
             " has a name that is not valid in its character set");
    }
    if (*raw_name == '\0') {
      refuse("driverFiles entry #" + std::to_string(index) + " has no name");
    }
    const std::string_view name(raw_name);
    const auto components = normalise(name, limits_);

    if (archive_entry_hardlink(entry) != nullptr) {
      refuse("driverFiles entry " + quoted(name) +
             " is a hard link (only files and directories are allowed)");
    }
    const auto type = archive_entry_filetype(entry);
    const char* kind = nullptr;
    switch (type) {
      case AE_IFREG:
      case AE_IFDIR:
        break;
      case AE_IFLNK:
        kind = "a symbolic link";
        break;
      case AE_IFCHR:
      case AE_IFBLK:
        kind = "a device";
        break;
      case AE_IFIFO:
        kind = "a FIFO";
        break;
      case AE_IFSOCK:
        kind = "a socket";
        break;
      default:
        kind = "of an unknown type";
        break;
    }
    if (kind != nullptr) {
      refuse("driverFiles entry " + quoted(name) + " is " + kind +
             " (only files and directories are allowed)");
    }
    if (archive_entry_is_encrypted(entry)) {
      refuse("driverFiles entry " + quoted(name) + " is encrypted");
    }

    const bool is_directory = type == AE_IFDIR;
    if (components.empty()) {
      if (is_directory) return;  // "./": the root itself
      refuse("driverFiles entry " + quoted(name) + " has no file name");
    }
    const std::string normalised = join(components, components.size());
    if (!seen_.insert(normalised).second) {
      refuse("driverFiles entry " + quoted(name) + " appears more than once");
    }

    if (is_directory) {
      open_directory(components, components.size(), name);
      return;
    }
    // An archive lists a directory's files together: each would walk its
    // whole path again, a mkdirat and an openat per level.
    std::string parent = join(components, components.size() - 1);
    if (last_parent_fd_.get() < 0 || parent != last_parent_) {
      last_parent_fd_ = open_directory(components, components.size() - 1, name);
      last_parent_ = std::move(parent);
    }
    write_file(last_parent_fd_.get(), components.back(), name);
  }

  /// Opens (creating as needed) the directory made of the first `count`
  /// components, one level at a time, never following a symbolic link.
  Fd open_directory(const std::vector<std::string>& components, std::size_t count,
                    std::string_view name) {
    Fd current(::dup(root_.get()));
    if (current.get() < 0) throw_errno(errno, "dup");
    for (std::size_t i = 0; i < count; ++i) {
      const char* part = components[i].c_str();
      if (::mkdirat(current.get(), part, 0700) == 0) {
        note_created();
        directories_.push_back(join(components, i + 1));
      } else if (errno != EEXIST) {
        throw_errno(errno, "cannot create directory '" + join(components, i + 1) + "'");
      }
      Fd next(::openat(current.get(), part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (next.get() < 0) {
        if (errno == ENOTDIR || errno == ELOOP) {
          refuse("driverFiles entry " + quoted(name) + " conflicts with the file '" +
                 join(components, i + 1) + "'");
        }
        throw_errno(errno, "cannot open directory '" + join(components, i + 1) + "'");
      }
      current = std::move(next);
    }
    return current;
  }

  void write_file(int parent, const std::string& file_name, std::string_view name) {
    Fd file(::openat(parent, file_name.c_str(),
                     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (file.get() < 0) {
      if (errno == EEXIST) {
        refuse("driverFiles entry " + quoted(name) +
               " conflicts with a directory of the same name");
      }
      throw_errno(errno, "cannot create file " + quoted(name));
    }
    note_created();

    // Compressed bytes the reader consumed for this entry, as measured by
    // libarchive, not as declared by the archive. libarchive counts a
    // block's input as consumed when the next block is read (a stored entry
    // comes as one block, with nothing consumed yet), so each count is set
    // against what the blocks before it produced.
    const la_int64_t consumed_at_start = archive_filter_bytes(archive_, 0);
    std::uint64_t written = 0;
    for (;;) {
      const void* block = nullptr;
      std::size_t size = 0;
      la_int64_t offset = 0;
      const int status = archive_read_data_block(archive_, &block, &size, &offset);
      if (status != ARCHIVE_OK && status != ARCHIVE_EOF) {
        refuse("driverFiles entry " + quoted(name) +
               " cannot be read: " + archive_message(archive_));
      }
      check_ratio(name, written, archive_filter_bytes(archive_, 0) - consumed_at_start);
      if (status == ARCHIVE_EOF) break;
      if (offset < 0 || static_cast<std::uint64_t>(offset) != written) {
        refuse("driverFiles entry " + quoted(name) + " has a gap in its data");
      }
      written += size;
      result_.bytes += size;
      check_sizes(name, written);
      write_all(file.get(), static_cast<const char*>(block), size, name);
    }
    if (::fchmod(file.get(), 0444) != 0)
      throw_errno(errno, "cannot make " + quoted(name) + " read-only");
    if (file.close() != 0) throw_errno(errno, "cannot write " + quoted(name));
    ++result_.files;
  }

  /// Checked before each chunk is written, so no file on disk ever exceeds a cap.
  void check_sizes(std::string_view name, std::uint64_t written) const {
    if (written > limits_.max_entry_bytes) {
      refuse("driverFiles entry " + quoted(name) + " expands to more than " +
             std::to_string(limits_.max_entry_bytes) + " bytes");
    }
    if (result_.bytes > limits_.max_total_bytes) {
      refuse("driverFiles expands to more than " + std::to_string(limits_.max_total_bytes) +
             " bytes");
    }
  }

  /// `written`: the entry's bytes produced from its `consumed` compressed
  /// bytes. A bomb is stopped within one chunk of crossing the ratio.
  void check_ratio(std::string_view name, std::uint64_t written, la_int64_t consumed) const {
    const double ratio = limits_.max_compression_ratio;
    if (written > limits_.ratio_check_min_bytes &&
        static_cast<double>(written) >
            ratio * static_cast<double>(std::max<la_int64_t>(consumed, 1))) {
      refuse("driverFiles entry " + quoted(name) + " exceeds the compression ratio limit of " +
             ratio_text() + " (zip bomb?)");
    }
    if (result_.bytes > limits_.ratio_check_min_bytes &&
        static_cast<double>(result_.bytes) > ratio * static_cast<double>(bytes_.size())) {
      refuse("driverFiles exceeds the compression ratio limit of " + ratio_text() +
             " for the whole archive (zip bomb?)");
    }
  }

  std::string ratio_text() const {
    std::string text = std::to_string(limits_.max_compression_ratio);
    // std::to_string prints six decimals; trim "100.000000" to "100".
    text.erase(text.find_last_not_of('0') + 1);
    if (!text.empty() && text.back() == '.') text.pop_back();
    return text + ":1";
  }

  void write_all(int fd, const char* data, std::size_t size, std::string_view name) {
    while (size > 0) {
      const ssize_t n = ::write(fd, data, size);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw_errno(errno, "cannot write " + quoted(name));
      }
      data += n;
      size -= static_cast<std::size_t>(n);
    }
  }

  std::string_view bytes_;
  const fs::path& destination_;
  const ExtractionLimits& limits_;
  Fd root_;
  archive* archive_ = nullptr;
  std::unordered_set<std::string> seen_;
  std::vector<std::string> directories_;  // relative paths of the directories we created
  std::size_t created_ = 0;               // files and directories made on disk
  std::string last_parent_;               // the directory of the last file written
  Fd last_parent_fd_;                     // and the directory itself, open
  ExtractionResult result_;
};

void validate(const ExtractionLimits& limits) {
  if (!(limits.max_compression_ratio >= 1.0)) {
    throw std::invalid_argument("ExtractionLimits.max_compression_ratio must be at least 1");
  }
  if (limits.max_path_length == 0) {
    throw std::invalid_argument("ExtractionLimits.max_path_length must be positive");
  }
}

}  // namespace

ExtractionResult extract_zip(std::string_view archive_bytes, const fs::path& destination,
                             const ExtractionLimits& limits) {
  validate(limits);
  if (archive_bytes.empty()) refuse("driverFiles is not a ZIP archive: it is empty");
  if (::mkdir(destination.c_str(), 0700) != 0) {
    throw fs::filesystem_error("cannot create extraction directory", destination,
                               std::error_code(errno, std::generic_category()));
  }
  try {
    const Utf8Names names;
    return Extraction(archive_bytes, destination, limits).run();
  } catch (...) {
    std::error_code ignored;
    remove_read_only_tree(destination, ignored);
    throw;
  }
}

}  // namespace flint::files
