// libFuzzer target: arbitrary bytes as a driver-files archive.
//
// Checks, beyond "no crash, no sanitizer report": an archive is either
// extracted within the limits into a tree of plain read-only files and
// directories, or refused with InvalidDriverFilesError leaving nothing behind.
// Any other exception is a finding (it escapes and libFuzzer reports it).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string_view>

#include <stdlib.h>
#include <sys/stat.h>

#include <flint/sdk/errors.hpp>

#include "files/read_only_tree.hpp"
#include "files/zip_extractor.hpp"

namespace {

namespace fs = std::filesystem;

/// A fresh scratch directory per input, removed afterwards (libFuzzer may end
/// the process without running exit handlers).
class ScratchDirectory {
 public:
  ScratchDirectory() {
    char pattern[] = "/tmp/flint_fuzz_zip_XXXXXX";
    if (::mkdtemp(pattern) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    path_ = pattern;
  }
  ScratchDirectory(const ScratchDirectory&) = delete;
  ScratchDirectory& operator=(const ScratchDirectory&) = delete;
  ~ScratchDirectory() {
    std::error_code ignored;
    flint::files::remove_read_only_tree(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

flint::files::ExtractionLimits small_limits() {
  flint::files::ExtractionLimits limits;
  limits.max_entries = 64;
  limits.max_total_bytes = 1 << 20;
  limits.max_entry_bytes = 256 << 10;
  limits.max_compression_ratio = 50;
  limits.ratio_check_min_bytes = 64 << 10;
  limits.max_path_length = 256;
  return limits;
}

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "invariant violated: %s\n", what);
  std::abort();
}

void check_tree(const fs::path& root, const flint::files::ExtractionLimits& limits) {
  std::uint64_t bytes = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    struct stat st {};
    if (::lstat(entry.path().c_str(), &st) != 0) violated("lstat failed");
    if (S_ISREG(st.st_mode)) {
      if ((st.st_mode & 07777) != 0444) violated("file not 0444");
      bytes += static_cast<std::uint64_t>(st.st_size);
    } else if (S_ISDIR(st.st_mode)) {
      if ((st.st_mode & 07777) != 0555) violated("directory not 0555");
    } else {
      violated("neither a file nor a directory");
    }
  }
  if (bytes > limits.max_total_bytes) violated("total size over the limit");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const flint::files::ExtractionLimits limits = small_limits();
  const ScratchDirectory scratch;
  const fs::path destination = scratch.path() / "out";
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    flint::files::extract_zip(bytes, destination, limits);
  } catch (const flint::sdk::InvalidDriverFilesError&) {
    if (fs::exists(fs::symlink_status(destination))) violated("refused archive left files behind");
    return 0;
  }
  check_tree(destination, limits);
  return 0;
}
