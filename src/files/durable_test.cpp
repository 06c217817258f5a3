#include "files/durable.hpp"

#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

namespace flint::files {
namespace {

namespace fs = std::filesystem;

class DurableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("flint-durable-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

// Whatever the umask: under 000, create_directories made missing parents 0777.
TEST_F(DurableTest, EveryCreatedParentIsTheOwnersAloneUnderAnyUmask) {
  const mode_t before = ::umask(0);
  const std::error_code ec = create_private_directory(root_ / "a" / "b" / "c");
  ::umask(before);
  ASSERT_FALSE(ec) << ec.message();
  for (const auto& created : {root_ / "a", root_ / "a" / "b", root_ / "a" / "b" / "c"}) {
    EXPECT_EQ(fs::status(created).permissions(), fs::perms::owner_all) << created;
  }
}

TEST_F(DurableTest, AnExistingDirectoryKeepsItsMode) {
  const auto perms = fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec;
  fs::permissions(root_, perms);
  EXPECT_FALSE(create_private_directory(root_));
  EXPECT_EQ(fs::status(root_).permissions(), perms);
}

TEST_F(DurableTest, AFileInThePathIsNotADirectory) {
  std::ofstream(root_ / "file") << "x";
  EXPECT_EQ(create_private_directory(root_ / "file"), std::errc::not_a_directory);
  EXPECT_EQ(create_private_directory(root_ / "file" / "below"), std::errc::not_a_directory);
}

TEST_F(DurableTest, SyncingADirectorySaysWhyItCannot) {
  EXPECT_FALSE(sync_directory(root_));
  EXPECT_EQ(sync_directory(root_ / "missing"), std::errc::no_such_file_or_directory);
  std::ofstream(root_ / "file") << "x";
  EXPECT_EQ(sync_directory(root_ / "file"), std::errc::not_a_directory);
}

}  // namespace
}  // namespace flint::files
