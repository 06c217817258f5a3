#pragma once

/// @file
/// The content-addressed cache of extracted driver-files packages.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>

#include <flint/sdk/driver_files.hpp>

#include "files/zip_extractor.hpp"

namespace flint::files {

/// Settings of a `PackageCache`.
struct PackageCacheOptions {
  /// Directory holding the extracted packages (created if missing). The cache
  /// owns the names it creates there (`<sha256>`, `<sha256>.tmp-*`,
  /// `<sha256>.evicted-*`) and leaves any other file alone.
  std::filesystem::path root;
  /// Caps applied to every archive.
  ExtractionLimits limits;
  /// Disk space the cache keeps before evicting the least recently used
  /// packages that no request is using, counted as `kEntryFootprint` per
  /// file and directory plus the files' contents.
  std::uint64_t max_cache_bytes = 1ULL << 30;
};

/// What each file and directory of an extracted package counts toward
/// `max_cache_bytes` besides its contents: about what it takes on disk (an
/// inode and a block), so that packages of many small or empty files are
/// bounded too.
inline constexpr std::uint64_t kEntryFootprint = 4096;

/// Counters of a `PackageCache`, for metrics.
struct PackageCacheStats {
  /// Acquisitions served by a package already extracted.
  std::uint64_t hits = 0;
  /// Acquisitions that had to wait for an extraction (their own or another's).
  std::uint64_t misses = 0;
  /// Extractions started (one per distinct new package, thanks to single flight).
  std::uint64_t extractions = 0;
  /// Extractions that failed (invalid package or I/O error).
  std::uint64_t extraction_failures = 0;
  /// Packages deleted to stay under `max_cache_bytes`.
  std::uint64_t evictions = 0;
  /// Bytes currently counted against `max_cache_bytes`: the packages' file
  /// contents plus `kEntryFootprint` per file and directory.
  std::uint64_t bytes_in_use = 0;
  /// Packages currently held.
  std::size_t entries = 0;
};

/// Extracts each distinct `driverFiles` package once and shares it read-only.
///
/// Packages are keyed by the SHA-256 of their base64 text: the LM sends the
/// same text with every request of a resource, so a hit costs one hash and one
/// lookup, without decoding. A miss decodes, extracts into
/// `root/<key>.tmp-<random>` and renames that to `root/<key>` atomically.
/// Concurrent requests for the same new package share one extraction.
///
/// Each `DirectoryTree` returned holds a lease: while any copy of it lives
/// the package stays on disk. When the cache exceeds `max_cache_bytes` the
/// least recently used packages without a lease are deleted; a package still
/// leased is deleted later, once its last lease is released, if the cache is
/// then still over its cap. A single package larger than the cap is served
/// and dropped after use.
///
/// Leftovers of a previous run (complete packages included) are deleted at
/// construction: the cache starts empty, so current limits apply to every
/// package it serves.
///
/// Thread-safe. Leases may outlive the cache object.
class PackageCache {
 public:
  /// Prepares `options.root`.
  /// @throws std::runtime_error naming the root if it cannot be created or
  ///   cleaned.
  /// @throws std::invalid_argument if `options.root` is empty.
  explicit PackageCache(PackageCacheOptions options);
  ~PackageCache();
  PackageCache(const PackageCache&) = delete;
  PackageCache& operator=(const PackageCache&) = delete;

  /// Returns the extracted package for `driver_files_base64`, extracting it
  /// if this is its first use.
  /// @throws flint::sdk::InvalidDriverFilesError when the text is not base64
  ///   or the archive is refused (see `extract_zip`); every caller waiting for
  ///   the same package gets the same error.
  /// @throws std::system_error / std::filesystem::filesystem_error on I/O
  ///   failures of the host.
  flint::sdk::DirectoryTree acquire(std::string_view driver_files_base64);

  /// A consistent snapshot of the counters.
  PackageCacheStats stats() const;

  /// Absolute path of the cache root.
  const std::filesystem::path& root() const noexcept;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace flint::files
