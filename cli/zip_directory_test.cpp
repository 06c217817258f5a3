#include "zip_directory.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files/zip_extractor.hpp"

namespace flint::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class ZipDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("flint-cli-zip-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "package");
  }
  void TearDown() override {
    std::error_code ignored;
    // Extracted trees are read-only: make them writable before removing.
    for (auto it = fs::recursive_directory_iterator(root_, ignored);
         it != fs::recursive_directory_iterator(); it.increment(ignored)) {
      fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ignored);
    }
    fs::remove_all(root_, ignored);
  }
  void write(const std::string& name, const std::string& data) {
    const fs::path path = root_ / "package" / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << data;
  }
  std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }
  std::string error_of(const fs::path& path) {
    try {
      zip_directory(path);
    } catch (const ZipError& e) {
      return e.what();
    }
    return "no error";
  }

  fs::path root_;
};

TEST_F(ZipDirectoryTest, TheServerExtractsWhatWasPacked) {
  write("scripts/Create.sh", "echo create\n");
  write("scripts/Delete.sh", std::string(100000, 'x'));
  write("README", "");
  fs::create_directories(root_ / "package" / "empty");
  const std::string zip = zip_directory(root_ / "package");

  const auto result = files::extract_zip(zip, root_ / "out", files::ExtractionLimits{});
  EXPECT_EQ(result.files, 3u);
  EXPECT_EQ(read(root_ / "out" / "scripts" / "Create.sh"), "echo create\n");
  EXPECT_EQ(read(root_ / "out" / "scripts" / "Delete.sh"), std::string(100000, 'x'));
  EXPECT_EQ(read(root_ / "out" / "README"), "");
  EXPECT_TRUE(fs::is_directory(root_ / "out" / "empty"));
  EXPECT_LT(zip.size(), 5000u) << "entries are deflated";
}

TEST_F(ZipDirectoryTest, TheSameTreeGivesTheSameBytes) {
  write("scripts/Create.sh", "echo create\n");
  write("a/b/c.txt", "c");
  const std::string first = zip_directory(root_ / "package");
  // A later modification time changes nothing.
  fs::last_write_time(root_ / "package" / "a" / "b" / "c.txt",
                      fs::file_time_type::clock::now() + std::chrono::hours(1));
  EXPECT_EQ(zip_directory(root_ / "package"), first);
  write("a/b/c.txt", "changed");
  EXPECT_NE(zip_directory(root_ / "package"), first);
}

TEST_F(ZipDirectoryTest, SymlinkedFilesArePackedAsFiles) {
  write("scripts/Create.sh", "echo create\n");
  std::ofstream(root_ / "outside.sh") << "echo outside\n";
  fs::create_symlink(root_ / "outside.sh", root_ / "package" / "scripts" / "Delete.sh");
  files::extract_zip(zip_directory(root_ / "package"), root_ / "out", files::ExtractionLimits{});
  EXPECT_EQ(read(root_ / "out" / "scripts" / "Delete.sh"), "echo outside\n");
}

TEST_F(ZipDirectoryTest, RejectsWhatCannotBePacked) {
  EXPECT_THAT(error_of(root_ / "nope"), HasSubstr("nope: not a directory"));
  EXPECT_THAT(error_of(root_ / "package"), HasSubstr("holds no file"));
  write("scripts/Create.sh", "x");
  ASSERT_EQ(::mkfifo((root_ / "package" / "pipe").c_str(), 0600), 0);
  EXPECT_THAT(error_of(root_ / "package"), HasSubstr("pipe: not a regular file or directory"));
  fs::remove(root_ / "package" / "pipe");
  fs::create_directory_symlink(root_, root_ / "package" / "loop");
  EXPECT_THAT(error_of(root_ / "package"), HasSubstr("loop: a symbolic link to a directory"));
  fs::remove(root_ / "package" / "loop");
  fs::create_symlink(root_ / "gone", root_ / "package" / "dangling");
  EXPECT_THAT(error_of(root_ / "package"), HasSubstr("dangling: dangling symbolic link"));
  fs::remove(root_ / "package" / "dangling");
  // A file whose read fails (EIO): named, with the system's reason.
  fs::create_symlink("/proc/self/mem", root_ / "package" / "mem");
  EXPECT_EQ(error_of(root_ / "package"),
            (root_ / "package" / "mem").string() + ": cannot be read: Input/output error");
}

TEST_F(ZipDirectoryTest, AnUnreadableDirectoryIsAnErrorNotAShorterPackage) {
  write("aaa/a", "a");
  write("lib/common.sh", "x");
  write("scripts/Create.sh", "x");
  write("zzz/z", "z");
  fs::permissions(root_ / "package" / "lib", fs::perms::none);
  // Root reads any directory: the check runs as nobody in a child.
  EXPECT_EXIT(
      {
        if (::geteuid() == 0 && ::setresuid(65534, 65534, 65534) != 0) std::_Exit(4);
        try {
          zip_directory(root_ / "package");
        } catch (const ZipError& e) {
          std::fprintf(stderr, "%s\n", e.what());
          std::_Exit(3);
        }
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(3), "lib: cannot be read: Permission denied");
}

}  // namespace
}  // namespace flint::cli
