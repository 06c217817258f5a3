#include "health/disk_check.hpp"

#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

namespace flint::health {
namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

DiskCheck::Space disk(std::uint64_t free, std::uint64_t total) {
  DiskCheck::Space space;
  space.writable = true;
  space.free_bytes = free;
  space.total_bytes = total;
  return space;
}

TEST(DiskCheckTest, LowIs100MiBOrATenthOfASmallFileSystem) {
  EXPECT_TRUE(disk(99 * kMiB, 100'000 * kMiB).low());
  EXPECT_FALSE(disk(101 * kMiB, 100'000 * kMiB).low());
  EXPECT_TRUE(disk(99 * kMiB, 1024 * kMiB).low());
  // A 4 MiB file system is not always low: a tenth of it is.
  EXPECT_FALSE(disk(3 * kMiB, 4 * kMiB).low());
  EXPECT_TRUE(disk(400 * 1024, 4 * kMiB).low());
  EXPECT_TRUE(disk(0, 4 * kMiB).low());
}

TEST(DiskCheckTest, ReadsTheDirectoryAndSizesItsFiles) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("flint-disk-check-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "a.db") << std::string(1000, 'x');
  std::ofstream(dir / "other") << std::string(5000, 'x');

  DiskCheck check(dir, {"a.db", "a.db-wal"});  // no -wal: counts 0
  const auto found = check.read();
  EXPECT_TRUE(found.writable);
  EXPECT_GT(found.free_bytes, 0U);
  EXPECT_GE(found.total_bytes, found.free_bytes);
  EXPECT_EQ(found.files_bytes, 1000U);

  // Read again at most once a second.
  std::ofstream(dir / "a.db-wal") << std::string(24, 'x');
  EXPECT_EQ(check.read().files_bytes, 1000U);
  EXPECT_EQ(DiskCheck(dir, {"a.db", "a.db-wal"}).read().files_bytes, 1024U);

  std::filesystem::remove_all(dir);
  const auto gone = DiskCheck(dir, {"a.db"}).read();
  EXPECT_FALSE(gone.writable);
  EXPECT_EQ(gone.free_bytes, 0U);
  EXPECT_EQ(gone.files_bytes, 0U);
}

}  // namespace
}  // namespace flint::health
