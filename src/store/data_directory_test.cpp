#include "store/data_directory.hpp"

#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/other_process_testing.hpp"

namespace flint::store {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

class DataDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("flint-data-dir-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(DataDirectoryTest, ACreatedDirectoryIsTheOwnersAlone) {
  DataDirectory dir(root_ / "a" / "data");
  EXPECT_EQ(fs::status(dir.path()).permissions(), fs::perms::owner_all);
  EXPECT_EQ(fs::status(dir.path() / "flint.lock").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(DataDirectoryTest, APrivateDirectoryThatOthersCanWriteToIsRefused) {
  for (const auto writable : {fs::perms::others_write, fs::perms::group_write}) {
    fs::permissions(root_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                               fs::perms::others_read | fs::perms::others_exec | writable);
    try {
      prepare_private_directory(root_, "resource_driver.scripts_workspace");
      FAIL() << "expected a refusal";
    } catch (const std::runtime_error& e) {
      EXPECT_THAT(e.what(), HasSubstr("resource_driver.scripts_workspace: " + root_.string() +
                                      " lets group or others write to it"));
      EXPECT_THAT(e.what(), HasSubstr("chmod go-w"));
    }
  }
  fs::permissions(root_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                             fs::perms::others_read | fs::perms::others_exec);
  EXPECT_NO_THROW(prepare_private_directory(root_, "resource_driver.scripts_workspace"));
}

TEST_F(DataDirectoryTest, APrivateDirectoryOfAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give the directory away";
  ASSERT_EQ(::chown(root_.c_str(), 65534, 65534), 0);
  try {
    prepare_private_directory(root_, "store.data_dir");
    FAIL() << "expected a refusal";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("store.data_dir: " + root_.string() +
                                    " belongs to user 65534, neither root nor Flint's user"));
  }
}

// Whoever may rename a folder on the way may swap the directory for theirs.
TEST_F(DataDirectoryTest, APrivateDirectoryReachedThroughAFolderOthersCanChangeIsRefused) {
  fs::create_directories(root_ / "open");
  fs::permissions(root_ / "open", fs::perms::all);  // 0777, not sticky
  try {
    prepare_private_directory(root_ / "open" / "data", "store.data_dir");
    FAIL() << "expected a refusal";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("store.data_dir: " + (root_ / "open" / "data").string() +
                                    " is reached through a folder others could replace it in: "
                                    "group or others may write to " +
                                    (root_ / "open").string() + " (mode 0777); chmod go-w it"));
  }
  // A sticky one, as /tmp: others may add to it but not rename what is not theirs.
  fs::permissions(root_ / "open", fs::perms::all | fs::perms::sticky_bit);
  EXPECT_NO_THROW(prepare_private_directory(root_ / "open" / "data", "store.data_dir"));
}

// The link is in a folder anyone may change: they could point it elsewhere.
TEST_F(DataDirectoryTest, APrivateDirectoryReachedThroughALinkInAFolderOthersCanChangeIsRefused) {
  fs::create_directories(root_ / "private" / "data");
  fs::create_directories(root_ / "open");
  fs::permissions(root_ / "open", fs::perms::all);
  fs::create_directory_symlink(root_ / "private" / "data", root_ / "open" / "link");
  EXPECT_THROW(prepare_private_directory(root_ / "open" / "link", "store.data_dir"),
               std::runtime_error);
  EXPECT_NO_THROW(prepare_private_directory(root_ / "private" / "data", "store.data_dir"));
}

TEST_F(DataDirectoryTest, AFolderOnTheWayOfAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give the folder away";
  fs::create_directories(root_ / "theirs" / "data");
  ASSERT_EQ(::chown((root_ / "theirs").c_str(), 65534, 65534), 0);
  try {
    prepare_private_directory(root_ / "theirs" / "data", "store.data_dir");
    FAIL() << "expected a refusal";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("is reached through a folder others could replace it in: " +
                                    (root_ / "theirs").string() + " belongs to user 65534"));
  }
}

TEST_F(DataDirectoryTest, APrivateDirectoryThatIsAFileIsRefused) {
  std::ofstream(root_ / "file") << "x";
  EXPECT_THROW(prepare_private_directory(root_ / "file", "key"), std::runtime_error);
  EXPECT_THROW(prepare_private_directory(root_ / "file" / "below", "key"), std::runtime_error);
}

TEST_F(DataDirectoryTest, AnExistingDirectoryKeepsItsMode) {
  fs::permissions(root_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  DataDirectory dir(root_);
  EXPECT_EQ(fs::status(root_).permissions(),
            fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
}

TEST_F(DataDirectoryTest, ASecondHolderIsRefusedNamingTheFirst) {
  {
    DataDirectory first(root_);
    std::ifstream lock(root_ / "flint.lock");
    std::string pid;
    lock >> pid;
    EXPECT_EQ(pid, std::to_string(::getpid()));
    try {
      DataDirectory second(root_);
      FAIL() << "a second holder was let in";
    } catch (const std::runtime_error& e) {
      EXPECT_THAT(e.what(), HasSubstr("store.data_dir: " + root_.string() +
                                      " is in use by another Flint process (pid " +
                                      std::to_string(::getpid()) + ")"));
    }
  }
  DataDirectory again(root_);  // released with its holder
}

// A Flint from before flint.lock takes no lock: its open database tells.
TEST_F(DataDirectoryTest, ADatabaseOpenInAnotherProcessIsRefusedBeforeAnythingChanges) {
  { Database(root_ / "events.db", Synchronous::normal).schema_version(); }
  testing::OtherProcessHoldingDatabase other(root_ / "events.db");
  const pid_t child = other.pid();
  try {
    DataDirectory dir(root_);
    ADD_FAILURE() << "started beside the process using its database";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("store.data_dir: " + (root_ / "events.db").string() +
                                    " is open in process " + std::to_string(child) + " ("));
    EXPECT_THAT(e.what(), HasSubstr("nothing was changed"));
  }
  EXPECT_FALSE(fs::exists(root_ / "flint.lock"));  // not left behind
  EXPECT_EQ(other.release(), 0);
  DataDirectory alone(root_);  // once it is gone
}

TEST_F(DataDirectoryTest, AFileInItsPlaceIsNamed) {
  std::ofstream(root_ / "file") << "x";
  EXPECT_THROW(
      {
        try {
          DataDirectory dir(root_ / "file");
        } catch (const std::runtime_error& e) {
          EXPECT_THAT(e.what(), HasSubstr("store.data_dir: "));
          throw;
        }
      },
      std::runtime_error);
}

}  // namespace
}  // namespace flint::store
