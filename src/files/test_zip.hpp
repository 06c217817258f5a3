#pragma once

/// @file
/// Test helper: ZIP archives built in memory, including malformed and hostile
/// ones that no well-behaved writer would produce.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <sys/stat.h>

namespace flint::files::testing {

/// One entry of a test archive.
struct ZipEntry {
  /// Name exactly as stored (no validation whatsoever).
  std::string name;
  /// Contents; written `repeat` times (cheap large entries).
  std::string data;
  std::uint64_t repeat = 1;
  /// Unix mode including the type bits (S_IFREG, S_IFDIR, S_IFLNK, S_IFIFO...).
  std::uint32_t mode = S_IFREG | 0644;
  /// Deflate the data (otherwise stored).
  bool deflate = false;
  /// Uncompressed size to declare in the headers instead of the true one.
  std::optional<std::uint32_t> declared_size;
};

/// A regular file entry.
ZipEntry file(std::string name, std::string data);
/// A directory entry (its name should end with '/').
ZipEntry directory(std::string name);

/// Builds a ZIP archive by hand (local headers, central directory, end
/// record), honouring every field of `entries` literally.
std::string make_zip(const std::vector<ZipEntry>& entries);

/// Builds a ZIP archive with libarchive's writer (regular files and
/// directories only; `repeat`, `deflate` and `declared_size` are ignored).
std::string make_zip_with_libarchive(const std::vector<ZipEntry>& entries);

}  // namespace flint::files::testing
