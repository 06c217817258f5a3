#include <fstream>
#include <random>

#include <gtest/gtest.h>
#include <unistd.h>

#include <flint/sdk/driver_files.hpp>
#include <flint/sdk/errors.hpp>

namespace flint::sdk {
namespace {

namespace fs = std::filesystem;

class DirectoryTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("flint_dirtree_" + std::to_string(::getpid()) + "_" +
                                         std::to_string(std::random_device{}()));
    root_ = base_ / "pkg";
    fs::create_directories(root_ / "scripts" / "inner");
    fs::create_directories(base_ / "outside");
    write(root_ / "scripts" / "install.sh");
    write(root_ / "scripts" / "inner" / "x.txt");
    write(base_ / "outside" / "secret.txt");
    write(base_ / "pkg-sibling.txt");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }
  static void write(const fs::path& path) { std::ofstream(path) << "data"; }

  // The message of the InvalidDriverFilesError that `call` throws.
  template <typename Call>
  static std::string error_of(Call call) {
    try {
      call();
    } catch (const InvalidDriverFilesError& error) {
      return error.what();
    }
    return "<no error>";
  }

  fs::path base_;
  fs::path root_;
};

TEST_F(DirectoryTreeTest, DefaultTreeIsInvalid) {
  DirectoryTree tree;
  EXPECT_FALSE(tree.valid());
  EXPECT_FALSE(tree.has_file("a"));
  EXPECT_FALSE(tree.has_directory(""));
  EXPECT_EQ(error_of([&] { (void)tree.file("a"); }),
            "driver files path \"a\": no driver files directory");
}

TEST_F(DirectoryTreeTest, ResolvesNormalisedPaths) {
  DirectoryTree tree(root_);
  EXPECT_TRUE(tree.valid());
  EXPECT_EQ(tree.path(), root_);
  EXPECT_EQ(tree.file("scripts/install.sh"), root_ / "scripts" / "install.sh");
  EXPECT_EQ(tree.file("./scripts//inner/../install.sh"), root_ / "scripts" / "install.sh");
  EXPECT_EQ(tree.file(""), root_);
  EXPECT_EQ(tree.file("scripts/.."), root_);
  EXPECT_EQ(tree.file("missing/file"), root_ / "missing" / "file");  // need not exist
  EXPECT_TRUE(tree.has_file("scripts/install.sh"));
  EXPECT_FALSE(tree.has_file("scripts"));
  EXPECT_FALSE(tree.has_file("scripts/none.sh"));
  EXPECT_TRUE(tree.has_directory("scripts/inner"));
  EXPECT_TRUE(tree.has_directory(""));
  EXPECT_FALSE(tree.has_directory("scripts/install.sh"));
}

TEST_F(DirectoryTreeTest, TrailingSeparatorOnRootIsIgnored) {
  DirectoryTree tree(root_.string() + "/");
  EXPECT_EQ(tree.path(), root_);
  EXPECT_TRUE(tree.has_file("scripts/install.sh"));
}

TEST_F(DirectoryTreeTest, RelativeRootIsMadeAbsolute) {
  const fs::path previous = fs::current_path();
  fs::current_path(base_);
  DirectoryTree tree("pkg");
  fs::current_path(previous);
  EXPECT_TRUE(tree.path().is_absolute());
  EXPECT_TRUE(tree.has_file("scripts/install.sh"));
}

TEST_F(DirectoryTreeTest, RefusesDotDotEscapes) {
  DirectoryTree tree(root_);
  EXPECT_EQ(error_of([&] { (void)tree.file("../x"); }),
            "driver files path \"../x\": escapes the driver files directory");
  EXPECT_EQ(error_of([&] { (void)tree.file("a/../../x"); }),
            "driver files path \"a/../../x\": escapes the driver files directory");
  EXPECT_EQ(error_of([&] { (void)tree.file("../pkg-sibling.txt"); }),
            "driver files path \"../pkg-sibling.txt\": escapes the driver files directory");
  EXPECT_FALSE(tree.has_file("../pkg-sibling.txt"));
  EXPECT_FALSE(tree.has_directory(".."));
}

TEST_F(DirectoryTreeTest, RefusesAbsolutePathsAndNul) {
  DirectoryTree tree(root_);
  EXPECT_EQ(error_of([&] { (void)tree.file("/etc/passwd"); }),
            "driver files path \"/etc/passwd\": absolute paths are not allowed");
  EXPECT_FALSE(tree.has_file("/etc/passwd"));
  using namespace std::string_view_literals;
  EXPECT_EQ(error_of([&] { (void)tree.file("a\0b\n"sv); }),
            "driver files path \"a\\x00b\\x0a\": contains a NUL character");
}

TEST_F(DirectoryTreeTest, RefusesSymlinksLeadingOutside) {
  fs::create_symlink(base_ / "outside", root_ / "scripts" / "escape_dir");
  fs::create_symlink(base_ / "outside" / "secret.txt", root_ / "escape_file");
  fs::create_symlink("../../outside", root_ / "scripts" / "relative_escape");
  fs::create_symlink("/etc/passwd", root_ / "passwd");
  DirectoryTree tree(root_);
  EXPECT_EQ(error_of([&] { (void)tree.file("scripts/escape_dir/secret.txt"); }),
            "driver files path \"scripts/escape_dir/secret.txt\": a symbolic link leads outside "
            "the driver files directory");
  EXPECT_NE(error_of([&] { (void)tree.file("escape_file"); }), "<no error>");
  EXPECT_NE(error_of([&] { (void)tree.file("scripts/relative_escape/secret.txt"); }), "<no error>");
  EXPECT_NE(error_of([&] { (void)tree.file("passwd"); }), "<no error>");
  EXPECT_NE(error_of([&] { (void)tree.subtree("scripts/escape_dir"); }), "<no error>");
  EXPECT_FALSE(tree.has_file("escape_file"));
  EXPECT_FALSE(tree.has_file("passwd"));
  EXPECT_FALSE(tree.has_directory("scripts/escape_dir"));
}

TEST_F(DirectoryTreeTest, AllowsSymlinksInside) {
  fs::create_symlink(root_ / "scripts" / "install.sh", root_ / "link.sh");
  fs::create_symlink("inner", root_ / "scripts" / "inner_link");
  DirectoryTree tree(root_);
  EXPECT_TRUE(tree.has_file("link.sh"));
  EXPECT_EQ(tree.file("link.sh"), root_ / "link.sh");
  EXPECT_TRUE(tree.has_file("scripts/inner_link/x.txt"));
}

TEST_F(DirectoryTreeTest, RootReachedThroughASymlinkStillWorks) {
  fs::create_directory_symlink(root_, base_ / "alias");
  DirectoryTree tree(base_ / "alias");
  EXPECT_TRUE(tree.has_file("scripts/install.sh"));
  EXPECT_FALSE(tree.has_file("../outside/secret.txt"));
}

TEST_F(DirectoryTreeTest, SubtreeSharesLifetimeAndConfinesLookups) {
  auto token = std::make_shared<int>(1);
  std::weak_ptr<int> watch = token;
  DirectoryTree sub;
  {
    DirectoryTree tree(root_, std::shared_ptr<const void>(std::move(token)));
    sub = tree.subtree("scripts");
  }
  EXPECT_FALSE(watch.expired());  // the subtree keeps the package alive
  EXPECT_EQ(sub.path(), root_ / "scripts");
  EXPECT_TRUE(sub.has_file("install.sh"));
  EXPECT_TRUE(sub.has_file("inner/x.txt"));
  EXPECT_FALSE(sub.has_directory("../scripts"));
  EXPECT_EQ(error_of([&] { (void)sub.file("../scripts/install.sh"); }),
            "driver files path \"../scripts/install.sh\": escapes the driver files directory");
  sub = DirectoryTree();
  EXPECT_TRUE(watch.expired());
}

TEST_F(DirectoryTreeTest, SubtreeOfAFileOrMissingPathFails) {
  DirectoryTree tree(root_);
  EXPECT_EQ(error_of([&] { (void)tree.subtree("scripts/install.sh"); }),
            "driver files path \"scripts/install.sh\": not a directory");
  EXPECT_EQ(error_of([&] { (void)tree.subtree("nope"); }),
            "driver files path \"nope\": not a directory");
}

}  // namespace
}  // namespace flint::sdk
