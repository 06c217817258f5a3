#include "files/package_cache.hpp"

#include <array>
#include <cerrno>
#include <condition_variable>
#include <exception>
#include <fstream>
#include <limits>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include <sys/stat.h>

#include <flint/sdk/errors.hpp>

#include "files/base64.hpp"
#include "files/read_only_tree.hpp"
#include "security/digest.hpp"

namespace flint::files {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kKeyLength = 64;  // hex SHA-256
constexpr std::string_view kTempMarker = ".tmp-";
constexpr std::string_view kEvictedMarker = ".evicted-";

std::string random_suffix() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint64_t value = engine();
  std::string text(16, '0');
  for (auto& c : text) {
    c = kHex[value & 0xF];
    value >>= 4;
  }
  return text;
}

bool is_key(std::string_view name) {
  return name.size() == kKeyLength &&
         name.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

/// True for the names this cache creates under its root.
bool is_cache_name(std::string_view name) {
  if (name.size() < kKeyLength || !is_key(name.substr(0, kKeyLength))) return false;
  const auto rest = name.substr(kKeyLength);
  return rest.empty() || rest.starts_with(kTempMarker) || rest.starts_with(kEvictedMarker);
}

// Names the boot in which the packages under the root were extracted.
constexpr std::string_view kBootMarker = ".flint-boot-id";

// This machine's boot: packages extracted since it began are whole on disk
// (extraction does not sync them; a power loss is a new boot, and takes the
// scripts that use them along). Empty when it cannot be read.
std::string current_boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

// When this machine booted, in seconds since the epoch (`btime` in
// /proc/stat), or -1 when it cannot be read.
std::int64_t boot_time() {
  std::ifstream in("/proc/stat");
  std::string key;
  std::int64_t value = -1;
  while (in >> key) {
    if (key == "btime") {
      in >> value;
      return in ? value : -1;
    }
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return -1;
}

// Whether the package directory at `path` was unpacked since `booted` (its
// last change, when its files were added, is not older).
bool unpacked_since(const fs::path& path, std::int64_t booted) {
  struct stat status {};
  return booted >= 0 && ::lstat(path.c_str(), &status) == 0 && status.st_mtime >= booted;
}

std::string read_first_line(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// Records `boot` under `root`, replacing the marker whole (best effort: a
// missing marker only means the next start empties the cache).
void record_boot(const fs::path& root, const std::string& boot) {
  const fs::path marker = root / kBootMarker;
  const fs::path temporary = marker.string() + std::string(kTempMarker) + random_suffix();
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << boot << '\n';
    if (!out.flush()) return;
  }
  std::error_code ignored;
  fs::rename(temporary, marker, ignored);
  if (ignored) fs::remove(temporary, ignored);
}

// Unpacks `archive`; wanting disk space, descriptors or memory is the host's
// trouble for a while (503, retry later), not the package's.
ExtractionResult extract_or_retry_later(std::string_view archive, const fs::path& destination,
                                        const PackageCacheOptions& options) {
  try {
    return extract_zip(archive, destination, options.limits);
  } catch (const std::system_error& e) {
    const int code = e.code().value();
    if (e.code().category() == std::generic_category() &&
        (code == ENOSPC || code == EDQUOT || code == EMFILE || code == ENFILE || code == ENOMEM ||
         code == EAGAIN)) {
      throw flint::sdk::TemporaryHostError("cannot unpack the driver files into " +
                                           options.root.string() + ": " + e.what() +
                                           "; retry later");
    }
    throw;
  }
}

void remove_all_quietly(const std::vector<fs::path>& paths) noexcept {
  for (const auto& path : paths) {
    std::error_code ignored;
    remove_read_only_tree(path, ignored);  // a leftover is cleaned at the next start
  }
}

}  // namespace

struct PackageCache::State {
  struct Lease;

  struct Entry {
    enum class Status { extracting, ready, failed };
    Status status = Status::extracting;
    std::exception_ptr error;
    fs::path directory;
    flint::sdk::DirectoryTree tree;  // resolved once, handed out with a lease
    std::uint64_t bytes = 0;
    std::uint64_t last_use = 0;
    std::weak_ptr<Lease> lease;
  };

  /// Shared by every DirectoryTree handed out for one entry; its destruction
  /// (the last tree gone) makes the entry evictable again.
  struct Lease {
    Lease(std::shared_ptr<State> owner, std::string entry_key)
        : state(std::move(owner)), key(std::move(entry_key)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() {
      std::vector<fs::path> doomed;
      {
        std::lock_guard lock(state->mutex);
        doomed = state->evict_locked();
      }
      remove_all_quietly(doomed);
    }
    std::shared_ptr<State> state;
    std::string key;
  };

  explicit State(PackageCacheOptions opts) : options(std::move(opts)) {}

  /// The entry's lease, created if no request holds one. Caller holds `mutex`.
  std::shared_ptr<Lease> lease_locked(const std::shared_ptr<State>& self, const std::string& key,
                                      Entry& entry) {
    entry.last_use = ++clock;
    auto lease = entry.lease.lock();
    if (!lease) {
      lease = std::make_shared<Lease>(self, key);
      entry.lease = lease;
    }
    return lease;
  }

  /// Unlinks least recently used, unleased packages from the index until the
  /// cache fits its cap. Each is renamed aside under the lock (so a new
  /// extraction of the same key can take its name at once) and returned for
  /// deletion outside the lock. Caller holds `mutex`.
  std::vector<fs::path> evict_locked() {
    std::vector<fs::path> doomed;
    while (stats.bytes_in_use > options.max_cache_bytes) {
      auto victim = entries.end();
      for (auto it = entries.begin(); it != entries.end(); ++it) {
        const Entry& entry = *it->second;
        if (entry.status != Entry::Status::ready || !entry.lease.expired()) continue;
        if (victim == entries.end() || entry.last_use < victim->second->last_use) victim = it;
      }
      if (victim == entries.end()) break;  // everything left is in use
      Entry& entry = *victim->second;
      const fs::path aside =
          options.root / (victim->first + std::string(kEvictedMarker) + random_suffix());
      std::error_code error;
      fs::rename(entry.directory, aside, error);
      if (error) break;  // keep it; retried at the next eviction
      doomed.push_back(aside);
      stats.bytes_in_use -= entry.bytes;
      stats.entries -= 1;
      stats.evictions += 1;
      entries.erase(victim);
    }
    return doomed;
  }

  /// Indexes a package a previous run of the host extracted, as least
  /// recently used; one that cannot be walked is removed. Caller holds `mutex`.
  void adopt_locked(const fs::path& directory) {
    std::uint64_t bytes = 0;
    std::uint64_t nodes = 1;  // the root directory
    std::error_code error;
    for (fs::recursive_directory_iterator it(directory, error), end; !error && it != end;
         it.increment(error)) {
      ++nodes;
      if (std::error_code kind; it->is_regular_file(kind)) bytes += it->file_size(kind);
    }
    // Unpacked under the limits of its time: kept only within today's.
    const auto& limits = options.limits;
    if (error || nodes - 1 > limits.max_entries || bytes > limits.max_total_bytes) {
      remove_all_quietly({directory});
      return;
    }
    auto entry = std::make_shared<Entry>();
    try {
      entry->tree = flint::sdk::DirectoryTree(directory);
    } catch (const std::exception&) {
      remove_all_quietly({directory});
      return;
    }
    entry->status = Entry::Status::ready;
    entry->directory = directory;
    entry->bytes = bytes + kEntryFootprint * nodes;
    entries.emplace(directory.filename().string(), std::move(entry));
    stats.bytes_in_use += bytes + kEntryFootprint * nodes;
    stats.entries += 1;
  }

  /// The key (content hash) of a package's text. The same package arrives
  /// with every request of a resource: comparing its text with the last few
  /// seen costs a small fraction of hashing it again.
  std::string key_of(std::string_view text) {
    {
      std::lock_guard lock(recent_mutex);
      for (const RecentText& seen : recent) {
        if (seen.text == text) return seen.key;
      }
    }
    std::string key = security::sha256_hex(text);
    if (text.size() <= kMaxRecentText) {
      std::lock_guard lock(recent_mutex);
      recent[recent_next++ % recent.size()] = {std::string(text), key};
    }
    return key;
  }

  struct RecentText {
    std::string text;
    std::string key;
  };
  static constexpr std::size_t kMaxRecentText = 64 * 1024;  // at most 8 x 64 KiB kept

  PackageCacheOptions options;
  std::mutex recent_mutex;
  std::array<RecentText, 8> recent;
  std::size_t recent_next = 0;
  mutable std::mutex mutex;
  std::condition_variable extraction_done;
  std::unordered_map<std::string, std::shared_ptr<Entry>> entries;
  std::uint64_t clock = 0;
  PackageCacheStats stats;
};

PackageCache::PackageCache(PackageCacheOptions options) {
  if (options.root.empty()) {
    throw std::invalid_argument("driver files cache root must not be empty");
  }
  std::error_code error;
  options.root = fs::absolute(options.root, error).lexically_normal();
  if (!error) fs::create_directories(options.root, error);
  if (!error && !fs::is_directory(options.root, error) && !error) {
    error = std::make_error_code(std::errc::not_a_directory);
  }
  if (error) {
    throw std::runtime_error("cannot create driver files cache directory '" +
                             options.root.string() + "': " + error.message());
  }
  // The packages of this boot are kept: a script that outlived a restart of
  // the host still reads its files. Anything else this cache made goes;
  // only names it creates are touched.
  const std::string boot = current_boot_id();
  const bool same_boot = !boot.empty() && read_first_line(options.root / kBootMarker) == boot;
  // A workspace without the marker was left by a Flint from before it (an
  // upgrade): its scripts may still run, so what was unpacked since the
  // machine booted is kept.
  std::error_code no_marker;
  const std::int64_t booted =
      fs::exists(options.root / kBootMarker, no_marker) || no_marker ? -1 : boot_time();
  std::vector<fs::path> kept;
  for (auto it = fs::directory_iterator(options.root, error);
       !error && it != fs::directory_iterator(); it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (!is_cache_name(name)) continue;
    std::error_code kind;
    if ((same_boot || unpacked_since(it->path(), booted)) && is_key(name) &&
        it->symlink_status(kind).type() == fs::file_type::directory) {
      kept.push_back(it->path());
      continue;
    }
    std::error_code removal;
    if (!remove_read_only_tree(it->path(), removal)) {
      throw std::runtime_error("cannot remove stale package '" + it->path().string() +
                               "': " + removal.message());
    }
  }
  if (error) {
    throw std::runtime_error("cannot list driver files cache directory '" + options.root.string() +
                             "': " + error.message());
  }
  if (!boot.empty()) record_boot(options.root, boot);
  state_ = std::make_shared<State>(std::move(options));
  std::vector<fs::path> doomed;
  {
    std::lock_guard lock(state_->mutex);
    for (const auto& directory : kept) state_->adopt_locked(directory);
    doomed = state_->evict_locked();
  }
  remove_all_quietly(doomed);
}

PackageCache::~PackageCache() = default;

const fs::path& PackageCache::root() const noexcept {
  return state_->options.root;
}

PackageCacheStats PackageCache::stats() const {
  std::lock_guard lock(state_->mutex);
  return state_->stats;
}

flint::sdk::DirectoryTree PackageCache::acquire(std::string_view driver_files_base64) {
  using Entry = State::Entry;
  State& state = *state_;
  const std::string key = state.key_of(driver_files_base64);

  // Declared before the lock so that it is released after it: dropping the
  // last lease takes the mutex.
  std::shared_ptr<State::Lease> lease;
  std::shared_ptr<Entry> entry;
  {
    std::unique_lock lock(state.mutex);
    const auto found = state.entries.find(key);
    if (found != state.entries.end()) {
      entry = found->second;
      if (entry->status == Entry::Status::ready) {
        state.stats.hits += 1;
      } else {
        state.stats.misses += 1;
        state.extraction_done.wait(lock,
                                   [&] { return entry->status != Entry::Status::extracting; });
        if (entry->status == Entry::Status::failed) std::rethrow_exception(entry->error);
      }
      lease = state.lease_locked(state_, key, *entry);
    } else {
      entry = std::make_shared<Entry>();
      state.entries.emplace(key, entry);
      state.stats.misses += 1;
      state.stats.extractions += 1;
    }
  }
  if (lease) return flint::sdk::DirectoryTree(entry->tree, lease);

  // This caller extracts; the others wait on `extraction_done`.
  std::vector<fs::path> doomed;
  try {
    const auto archive = decode_base64(driver_files_base64);
    if (!archive) {
      throw flint::sdk::InvalidDriverFilesError(
          "driverFiles is not valid base64 (standard alphabet with '=' padding)");
    }
    const fs::path temporary =
        state.options.root / (key + std::string(kTempMarker) + random_suffix());
    const ExtractionResult result = extract_or_retry_later(*archive, temporary, state.options);
    const fs::path final_path = state.options.root / key;
    std::error_code error;
    fs::rename(temporary, final_path, error);
    if (error) {
      std::error_code ignored;
      remove_read_only_tree(temporary, ignored);
      throw fs::filesystem_error("cannot move an extracted package into place", temporary,
                                 final_path, error);
    }
    flint::sdk::DirectoryTree tree(final_path);  // resolves the root: outside the lock
    std::lock_guard lock(state.mutex);
    entry->directory = final_path;
    entry->tree = std::move(tree);
    // The root directory counts as one more.
    entry->bytes = result.bytes + kEntryFootprint * (result.files + result.directories + 1);
    entry->status = Entry::Status::ready;
    state.stats.bytes_in_use += entry->bytes;
    state.stats.entries += 1;
    lease = state.lease_locked(state_, key, *entry);
    doomed = state.evict_locked();
    state.extraction_done.notify_all();
  } catch (...) {
    std::lock_guard lock(state.mutex);
    entry->status = Entry::Status::failed;
    entry->error = std::current_exception();
    // Forget the failure: a later request with the same text tries again.
    if (const auto it = state.entries.find(key); it != state.entries.end() && it->second == entry) {
      state.entries.erase(it);
    }
    state.stats.extraction_failures += 1;
    state.extraction_done.notify_all();
    throw;
  }
  remove_all_quietly(doomed);
  return flint::sdk::DirectoryTree(entry->tree, lease);
}

}  // namespace flint::files
