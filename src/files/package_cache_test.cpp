#include "files/package_cache.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <latch>
#include <sstream>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <flint/sdk/errors.hpp>

#include "files/base64.hpp"
#include "files/read_only_tree.hpp"
#include "files/test_zip.hpp"

namespace flint::files {
namespace {

namespace fs = std::filesystem;
using testing::file;
using testing::make_zip;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// A base64 package holding one file `name` of `size` bytes.
std::string package(const std::string& name, std::size_t size, char fill = 'x') {
  return encode_base64(make_zip({file(name, std::string(size, fill))}));
}

// What `package(name, 1000)` counts against the cap: its contents, and a
// block each for the file and the root.
constexpr std::uint64_t kCounted = 1000 + 2 * kEntryFootprint;

class PackageCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("flint_cache_test_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    remove_read_only_tree(root_);
  }
  void TearDown() override { remove_read_only_tree(root_); }

  PackageCacheOptions options(std::uint64_t max_cache_bytes = 1ULL << 30) const {
    PackageCacheOptions opts;
    opts.root = root_;
    opts.max_cache_bytes = max_cache_bytes;
    return opts;
  }

  // Unpacks `text` in a cache that then stops (a host shutting down) and
  // returns where the package was unpacked.
  fs::path unpack_in_a_stopped_cache(const std::string& text) const {
    PackageCache cache(options());
    return cache.acquire(text).path();
  }

  // Entries of the root, the cache's own marker aside.
  std::size_t children() const {
    return static_cast<std::size_t>(std::ranges::count_if(
        fs::directory_iterator(root_),
        [](const fs::directory_entry& e) { return e.path().filename() != ".flint-boot-id"; }));
  }

  fs::path root_;
};

TEST_F(PackageCacheTest, ExtractsOnceThenHits) {
  PackageCache cache(options());
  const auto text = package("Lifecycle/Install.sh", 100);
  const auto first = cache.acquire(text);
  const auto second = cache.acquire(text);

  EXPECT_EQ(first.path(), second.path());
  EXPECT_EQ(first.path().parent_path(), cache.root());
  EXPECT_EQ(first.path().filename().string().size(), 64U);  // hex SHA-256
  EXPECT_TRUE(first.has_file("Lifecycle/Install.sh"));
  EXPECT_EQ(read_file(first.file("Lifecycle/Install.sh")), std::string(100, 'x'));

  const auto stats = cache.stats();
  EXPECT_EQ(stats.misses, 1U);
  EXPECT_EQ(stats.hits, 1U);
  EXPECT_EQ(stats.extractions, 1U);
  EXPECT_EQ(stats.entries, 1U);
  // The contents, and a block each for the file, its directory and the root.
  EXPECT_EQ(stats.bytes_in_use, 100U + 3 * kEntryFootprint);
  EXPECT_EQ(stats.evictions, 0U);
  EXPECT_EQ(children(), 1U);  // no temporary directory left over
}

TEST_F(PackageCacheTest, DistinctPackagesGetDistinctDirectories) {
  PackageCache cache(options());
  const auto a = cache.acquire(package("a", 10));
  const auto b = cache.acquire(package("b", 10));
  EXPECT_NE(a.path(), b.path());
  EXPECT_TRUE(a.has_file("a"));
  EXPECT_TRUE(b.has_file("b"));
  EXPECT_EQ(cache.stats().entries, 2U);
  EXPECT_EQ(cache.stats().bytes_in_use, 2 * (10U + 2 * kEntryFootprint));
}

// More packages than the cache remembers texts of, each sent again after the
// others, and packages of the same length: each keeps its own directory.
TEST_F(PackageCacheTest, ManyPackagesInTurnEachKeepTheirDirectory) {
  PackageCache cache(options());
  std::vector<std::string> texts;
  for (char fill = 'a'; fill < 'a' + 12; ++fill) texts.push_back(package("f", 50, fill));
  std::vector<fs::path> first_paths;
  for (const auto& text : texts) first_paths.push_back(cache.acquire(text).path());
  for (int round = 0; round < 2; ++round) {
    for (std::size_t i = 0; i < texts.size(); ++i) {
      const auto tree = cache.acquire(texts[i]);
      EXPECT_EQ(tree.path(), first_paths[i]);
      EXPECT_EQ(read_file(tree.file("f")), std::string(50, static_cast<char>('a' + i)));
    }
  }
  const auto again = cache.acquire(texts[0]);  // now among the recent ones
  EXPECT_EQ(again.path(), first_paths[0]);
  EXPECT_EQ(cache.stats().extractions, texts.size());
  EXPECT_EQ(cache.stats().entries, texts.size());
}

TEST_F(PackageCacheTest, RefusesInvalidBase64AndLeavesNothing) {
  PackageCache cache(options());
  try {
    cache.acquire("not base64!");
    FAIL();
  } catch (const flint::sdk::InvalidDriverFilesError& error) {
    EXPECT_STREQ(error.what(),
                 "driverFiles is not valid base64 (standard alphabet with '=' padding)");
  }
  EXPECT_EQ(cache.stats().extraction_failures, 1U);
  EXPECT_EQ(cache.stats().entries, 0U);
  EXPECT_EQ(children(), 0U);
}

TEST_F(PackageCacheTest, RefusesAnUnsafeArchiveAndRetriesLater) {
  PackageCache cache(options());
  const auto evil = encode_base64(make_zip({file("ok", "1"), file("../evil", "x")}));
  for (int i = 0; i < 2; ++i) {
    try {
      cache.acquire(evil);
      FAIL();
    } catch (const flint::sdk::InvalidDriverFilesError& error) {
      EXPECT_STREQ(error.what(), "driverFiles entry '../evil' escapes the package root ('..')");
    }
  }
  EXPECT_EQ(cache.stats().extraction_failures, 2U);
  EXPECT_EQ(children(), 0U);
  EXPECT_FALSE(fs::exists(root_.parent_path() / "evil"));
}

TEST_F(PackageCacheTest, ConcurrentRequestsForANewPackageExtractOnce) {
  PackageCache cache(options());
  // Big enough that the extraction takes a while and the threads overlap.
  std::vector<testing::ZipEntry> entries;
  for (int i = 0; i < 200; ++i)
    entries.push_back(file("f" + std::to_string(i), std::string(20000, 'q')));
  const auto text = encode_base64(make_zip(entries));

  constexpr int kThreads = 8;
  std::latch start(kThreads);
  std::vector<fs::path> paths(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      const auto tree = cache.acquire(text);
      paths[static_cast<std::size_t>(i)] = tree.path();
      EXPECT_TRUE(tree.has_file("f199"));
    });
  }
  for (auto& thread : threads) thread.join();

  for (const auto& path : paths) EXPECT_EQ(path, paths.front());
  const auto stats = cache.stats();
  EXPECT_EQ(stats.extractions, 1U);
  EXPECT_EQ(stats.hits + stats.misses, static_cast<std::uint64_t>(kThreads));
  EXPECT_EQ(stats.entries, 1U);
  EXPECT_EQ(children(), 1U);
}

TEST_F(PackageCacheTest, ConcurrentRequestsForABadPackageAllFail) {
  PackageCache cache(options());
  const auto text = encode_base64(make_zip({file("/abs", "x")}));
  constexpr int kThreads = 6;
  std::latch start(kThreads);
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      try {
        cache.acquire(text);
      } catch (const flint::sdk::InvalidDriverFilesError& error) {
        if (std::string(error.what()) == "driverFiles entry '/abs' has an absolute path") ++refused;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(refused.load(), kThreads);
  EXPECT_EQ(cache.stats().entries, 0U);
  EXPECT_EQ(children(), 0U);
}

TEST_F(PackageCacheTest, EvictionSkipsLeasedPackages) {
  PackageCache cache(options(kCounted * 3 / 2));
  auto a = cache.acquire(package("a", 1000));
  const fs::path a_path = a.path();
  fs::path b_path;
  {
    const auto b = cache.acquire(package("b", 1000));
    b_path = b.path();
    // Over the cap, but both packages are in use: nothing goes.
    EXPECT_TRUE(fs::exists(a_path));
    EXPECT_TRUE(fs::exists(b_path));
    EXPECT_EQ(cache.stats().bytes_in_use, 2 * kCounted);
  }
  // b's last lease is gone and the cache is still over its cap: b goes, a (leased) stays.
  EXPECT_FALSE(fs::exists(b_path));
  EXPECT_TRUE(fs::exists(a_path));
  EXPECT_EQ(cache.stats().evictions, 1U);
  EXPECT_EQ(cache.stats().bytes_in_use, kCounted);

  a = flint::sdk::DirectoryTree();  // release a: under the cap, it stays cached
  EXPECT_TRUE(fs::exists(a_path));
  const auto c = cache.acquire(package("c", 1000));
  // a was the least recently used unleased package.
  EXPECT_FALSE(fs::exists(a_path));
  EXPECT_TRUE(c.has_file("c"));
  const auto stats = cache.stats();
  EXPECT_EQ(stats.evictions, 2U);
  EXPECT_EQ(stats.entries, 1U);
  EXPECT_EQ(stats.bytes_in_use, kCounted);
}

TEST_F(PackageCacheTest, EvictsTheLeastRecentlyUsedFirst) {
  PackageCache cache(options(kCounted * 5 / 2));
  const auto a_text = package("a", 1000);
  const auto a_path = cache.acquire(a_text).path();
  const auto b_path = cache.acquire(package("b", 1000)).path();
  cache.acquire(a_text);  // a is now more recent than b
  const auto c = cache.acquire(package("c", 1000));
  EXPECT_TRUE(fs::exists(a_path));
  EXPECT_FALSE(fs::exists(b_path));
  EXPECT_EQ(cache.stats().evictions, 1U);
}

TEST_F(PackageCacheTest, PackagesOfEmptyFilesCountTowardTheCapToo) {
  // Each takes 100 inodes on disk though its contents are 0 bytes.
  const auto empty_files = [](char name) {
    std::vector<testing::ZipEntry> entries;
    for (int i = 0; i < 100; ++i) entries.push_back(file(name + std::to_string(i), ""));
    return encode_base64(make_zip(entries));
  };
  PackageCache cache(options(250 * kEntryFootprint));
  for (const char name : {'a', 'b', 'c', 'd'}) cache.acquire(empty_files(name));
  const auto stats = cache.stats();
  EXPECT_EQ(stats.evictions, 2U);
  EXPECT_EQ(stats.entries, 2U);
  EXPECT_EQ(stats.bytes_in_use, 2 * 101 * kEntryFootprint);
  EXPECT_EQ(children(), 2U);
}

TEST_F(PackageCacheTest, APackageOverTheCapIsDeletedWhenItsLastLeaseGoes) {
  PackageCache cache(options(kCounted / 2));
  auto tree = cache.acquire(package("big", 1000));
  const fs::path path = tree.path();
  auto copy = tree;
  auto sub = tree.subtree("");
  tree = {};
  copy = {};
  EXPECT_TRUE(fs::exists(path));  // `sub` shares the lease
  EXPECT_TRUE(sub.has_file("big"));
  sub = {};
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(cache.stats().entries, 0U);
  EXPECT_EQ(cache.stats().bytes_in_use, 0U);
  EXPECT_EQ(children(), 0U);
}

TEST_F(PackageCacheTest, ReExtractsAfterEviction) {
  PackageCache cache(options(kCounted / 2));
  const auto text = package("big", 1000);
  cache.acquire(text);
  const auto tree = cache.acquire(text);
  EXPECT_TRUE(tree.has_file("big"));
  EXPECT_EQ(cache.stats().extractions, 2U);
  EXPECT_EQ(cache.stats().hits, 0U);
}

TEST_F(PackageCacheTest, LeasesMayOutliveTheCache) {
  flint::sdk::DirectoryTree tree;
  {
    PackageCache cache(options(0));
    tree = cache.acquire(package("a", 10));
  }
  EXPECT_TRUE(tree.has_file("a"));
  const fs::path path = tree.path();
  tree = {};
  EXPECT_FALSE(fs::exists(path));  // cap 0: dropped once unused
}

TEST_F(PackageCacheTest, RemovesLeftoversOfAPreviousRunAndNothingElse) {
  const std::string key(64, 'a');
  fs::create_directories(root_ / key / "sub");
  std::ofstream(root_ / key / "sub/file") << "old";
  fs::permissions(root_ / key / "sub", fs::perms::owner_read | fs::perms::owner_exec);
  fs::permissions(root_ / key, fs::perms::owner_read | fs::perms::owner_exec);
  fs::create_directories(root_ / (key + ".tmp-0123"));
  fs::create_directories(root_ / (key + ".evicted-4567"));
  std::ofstream(root_ / "operator-notes.txt") << "keep";
  fs::create_directories(root_ / "not-a-key");
  fs::create_directories(root_ / std::string(64, 'A'));         // not lower-case hex: not ours
  std::ofstream(root_ / ".flint-boot-id") << "another-boot\n";  // left before the last boot

  PackageCache cache(options());
  EXPECT_FALSE(fs::exists(root_ / key));
  EXPECT_FALSE(fs::exists(root_ / (key + ".tmp-0123")));
  EXPECT_FALSE(fs::exists(root_ / (key + ".evicted-4567")));
  EXPECT_TRUE(fs::exists(root_ / "operator-notes.txt"));
  EXPECT_TRUE(fs::exists(root_ / "not-a-key"));
  EXPECT_TRUE(fs::exists(root_ / std::string(64, 'A')));
  EXPECT_EQ(cache.stats().entries, 0U);
}

TEST_F(PackageCacheTest, ARestartInTheSameBootKeepsThePackagesForScriptsStillRunning) {
  const std::string text = package("Create.sh", 1000);
  // A script taken over after the restart still reads its files.
  const fs::path path = unpack_in_a_stopped_cache(text);
  PackageCache restarted(options());
  EXPECT_EQ(read_file(path / "Create.sh"), std::string(1000, 'x'));
  EXPECT_EQ(restarted.stats().entries, 1U);
  EXPECT_EQ(restarted.stats().bytes_in_use, kCounted);
  EXPECT_EQ(restarted.acquire(text).path(), path);
  EXPECT_EQ(restarted.stats().hits, 1U);
  EXPECT_EQ(restarted.stats().extractions, 0U);
}

TEST_F(PackageCacheTest, KeptPackagesGoFirstWhenOverTheCap) {
  const fs::path kept_path = unpack_in_a_stopped_cache(package("a", 1000));
  PackageCache restarted(options(kCounted));
  const auto fresh = restarted.acquire(package("b", 1000));
  EXPECT_FALSE(fs::exists(kept_path));
  EXPECT_TRUE(fs::exists(fresh.path() / "b"));
}

TEST_F(PackageCacheTest, PackagesOfAnotherBootAreRemoved) {
  const fs::path path = unpack_in_a_stopped_cache(package("a", 1000));
  // A power loss is a new boot: files extracted unsynced may be partly lost.
  std::ofstream(root_ / ".flint-boot-id", std::ios::trunc) << "another-boot\n";
  PackageCache restarted(options());
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(restarted.stats().entries, 0U);
}

TEST_F(PackageCacheTest, AWorkspaceFromAFlintWithoutTheBootMarkerKeepsWhatThisBootUnpacked) {
  // An upgrade: the Flint before it left no marker, and its scripts still run.
  const fs::path recent = unpack_in_a_stopped_cache(package("a", 1000));
  const fs::path older = unpack_in_a_stopped_cache(package("b", 1000));
  fs::last_write_time(older, fs::file_time_type::clock::now() - std::chrono::years(30));
  fs::remove(root_ / ".flint-boot-id");
  PackageCache restarted(options());
  EXPECT_EQ(read_file(recent / "a"), std::string(1000, 'x'));
  EXPECT_FALSE(fs::exists(older));  // unpacked before the machine booted
  EXPECT_EQ(restarted.stats().entries, 1U);
  EXPECT_TRUE(fs::exists(root_ / ".flint-boot-id"));
}

TEST_F(PackageCacheTest, CreatesItsRootOrSaysWhyNot) {
  PackageCacheOptions opts = options();
  opts.root = root_ / "nested/deeper";
  PackageCache cache(opts);
  EXPECT_TRUE(fs::is_directory(root_ / "nested/deeper"));

  std::ofstream(root_ / "plain-file") << "x";
  opts.root = root_ / "plain-file/cache";
  try {
    PackageCache broken(opts);
    FAIL();
  } catch (const std::runtime_error& error) {
    EXPECT_THAT(error.what(), ::testing::HasSubstr("cannot create driver files cache directory '" +
                                                   (root_ / "plain-file/cache").string() + "'"));
  }
}

}  // namespace
}  // namespace flint::files
