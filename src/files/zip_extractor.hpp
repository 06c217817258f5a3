#pragma once

/// @file
/// Safe extraction of a driver-files ZIP archive.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string_view>

namespace flint::files {

/// Caps that keep a hostile archive from exhausting the disk, inodes or CPU.
///
/// Every cap is enforced on what is actually decompressed, while streaming,
/// never on the sizes an archive declares in its headers.
struct ExtractionLimits {
  /// Most entries (files and directories) an archive may hold.
  std::size_t max_entries = 10000;
  /// Most bytes all files together may expand to.
  std::uint64_t max_total_bytes = 256ULL << 20;
  /// Most bytes a single file may expand to.
  std::uint64_t max_entry_bytes = 64ULL << 20;
  /// Highest compression ratio (expanded / compressed) allowed for any single
  /// entry and for the archive as a whole (zip-bomb guard).
  double max_compression_ratio = 100.0;
  /// Ratios are only checked once an entry (or the archive) has expanded past
  /// this many bytes: small, very repetitive files (padded configs) are
  /// harmless and legitimately exceed any sensible ratio.
  std::uint64_t ratio_check_min_bytes = 1ULL << 20;
  /// Longest entry name, in bytes, as stored in the archive.
  std::size_t max_path_length = 1024;
};

/// What an extraction produced.
struct ExtractionResult {
  /// Regular files written.
  std::size_t files = 0;
  /// Directories created (explicit entries and implied parents), root excluded.
  std::size_t directories = 0;
  /// Bytes written to all files together.
  std::uint64_t bytes = 0;
};

/// Extracts the ZIP archive `archive_bytes` into `destination`, a directory
/// this call creates (its parent must exist; it must not).
///
/// Only regular files and directories are extracted. Files end up 0444 and
/// directories (the destination included) 0555: the tree is meant to be shared
/// read-only. Nothing is created outside `destination`: every name is checked
/// before use and every file is created with `O_EXCL | O_NOFOLLOW` relative to
/// an already opened parent directory.
///
/// On any error `destination` and everything extracted so far are removed.
///
/// @throws flint::sdk::InvalidDriverFilesError with a one-line reason when the
///   archive is unusable: empty or not a ZIP, corrupt, encrypted; an entry that
///   escapes the root (`..`, absolute path, drive letter; `\\` counts as a
///   separator), has a control character in its name, is not a
///   file or directory (symbolic or hard link, device, FIFO, socket), is
///   listed twice (after normalisation) or conflicts with another; or any of
///   `limits` is exceeded.
/// @throws std::invalid_argument when `limits` is unusable (names the field).
/// @throws std::system_error / std::filesystem::filesystem_error on I/O
///   failures of the host (destination exists, disk full...).
///
/// Thread-safe for distinct destinations.
ExtractionResult extract_zip(std::string_view archive_bytes,
                             const std::filesystem::path& destination,
                             const ExtractionLimits& limits);

}  // namespace flint::files
