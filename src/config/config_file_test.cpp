#include "config/config_file.hpp"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

namespace flint::config {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// A fresh directory per test, removed with everything in it.
class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("flint_config_file_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path write(const std::string& name, const std::string& text) {
    const auto path = dir_ / name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  std::filesystem::path dir_;
};

std::string text_of(const std::variant<std::string, ConfigFileProblem>& result) {
  if (const auto* problem = std::get_if<ConfigFileProblem>(&result)) {
    ADD_FAILURE() << "unexpected problem: " << problem->message;
    return {};
  }
  return std::get<std::string>(result);
}

std::string problem_of(const std::variant<std::string, ConfigFileProblem>& result) {
  if (const auto* problem = std::get_if<ConfigFileProblem>(&result)) return problem->message;
  ADD_FAILURE() << "expected a problem";
  return {};
}

TEST_F(ConfigFileTest, ReadsARegularFileWhole) {
  const std::string text = "a: 1\n" + std::string(100'000, '#') + "\nb: 2\n";
  EXPECT_EQ(text_of(read_config_file(write("f.yaml", text))), text);
  EXPECT_EQ(text_of(read_config_file(write("empty.yaml", ""))), "");
}

TEST_F(ConfigFileTest, FollowsSymbolicLinks) {
  const auto target = write("target.yaml", "a: 1\n");
  std::filesystem::create_symlink(target, dir_ / "link.yaml");
  EXPECT_EQ(text_of(read_config_file(dir_ / "link.yaml")), "a: 1\n");
  std::filesystem::create_symlink(dir_ / "missing.yaml", dir_ / "dangling.yaml");
  EXPECT_EQ(problem_of(read_config_file(dir_ / "dangling.yaml")),
            "configuration file '" + (dir_ / "dangling.yaml").string() + "' does not exist");
}

TEST_F(ConfigFileTest, MissingFileOrDirectory) {
  EXPECT_EQ(problem_of(read_config_file(dir_ / "nope.yaml")),
            "configuration file '" + (dir_ / "nope.yaml").string() + "' does not exist");
  EXPECT_EQ(problem_of(read_config_file(dir_)),
            "configuration file '" + dir_.string() + "' is a directory, not a file");
  // A path through a regular file: the OS's reason.
  const auto file = write("f.yaml", "a: 1\n");
  EXPECT_EQ(
      problem_of(read_config_file(file / "x.yaml")),
      "configuration file '" + (file / "x.yaml").string() + "' cannot be read: Not a directory");
}

TEST_F(ConfigFileTest, AFifoIsRefusedWithoutBlocking) {
  const auto fifo = dir_ / "fifo.yaml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Opening it for reading would wait for a writer forever.
  EXPECT_EQ(problem_of(read_config_file(fifo)),
            "configuration file '" + fifo.string() + "' is a FIFO, not a regular file");
  std::filesystem::create_symlink(fifo, dir_ / "link.yaml");
  EXPECT_THAT(problem_of(read_config_file(dir_ / "link.yaml")), HasSubstr("is a FIFO"));
}

TEST(ConfigFile, DevicesAreRefused) {
  EXPECT_EQ(problem_of(read_config_file("/dev/null")),
            "configuration file '/dev/null' is a character device, not a regular file");
}

TEST(ConfigFile, AReadErrorIsReportedNotTakenForAnEmptyFile) {
  // A regular file (size 0) whose read fails at offset 0 (EIO).
  EXPECT_EQ(problem_of(read_config_file("/proc/self/mem")),
            "configuration file '/proc/self/mem' cannot be read: Input/output error");
}

TEST_F(ConfigFileTest, SizeIsLimited) {
  EXPECT_EQ(text_of(read_config_file(write("at.yaml", std::string(kMaxConfigFileSize, '#')))),
            std::string(kMaxConfigFileSize, '#'));
  const auto over = write("over.yaml", std::string(kMaxConfigFileSize + 1, '#'));
  EXPECT_EQ(problem_of(read_config_file(over)),
            "configuration file '" + over.string() + "' is larger than 1MiB");
  // Files whose size stat does not tell (/proc) are counted while read.
  EXPECT_THAT(problem_of(read_config_file("/proc/self/maps", 16)),
              StartsWith("configuration file '/proc/self/maps' is larger than 16"));
}

}  // namespace
}  // namespace flint::config
