#include "script/execution_directory.hpp"

#include <chrono>
#include <future>
#include <string>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "script/test_support.hpp"

namespace flint::drivers::script {
namespace {

namespace fs = std::filesystem;
using Status = FileContent::Status;
using testing::FilePermissionsApply;
using testing::TempDir;
using namespace std::chrono_literals;

class ExecutionDirectoryTest : public ::testing::Test {
 protected:
  TempDir work_;
  ExecutionDirectory dir_{work_.path()};
};

TEST_F(ExecutionDirectoryTest, ReadsRegularFilesAndSaysWhyNotOtherwise) {
  dir_.write("ok", "content");
  EXPECT_EQ(dir_.read_regular("ok").status, Status::ok);
  EXPECT_EQ(dir_.read_regular("ok").content, "content");
  EXPECT_EQ(dir_.read_regular("missing").status, Status::missing);
  fs::create_directory(dir_.file("directory"));
  EXPECT_EQ(dir_.read_regular("directory").status, Status::not_regular);
  // A link is refused even to a regular file: it may point anywhere.
  fs::create_symlink(dir_.file("ok"), dir_.file("link"));
  EXPECT_EQ(dir_.read_regular("link").status, Status::not_regular);
  fs::create_symlink("/dev/zero", dir_.file("device"));
  EXPECT_EQ(dir_.read_regular("device").status, Status::not_regular);
  EXPECT_EQ(dir_.read("device"), std::nullopt);
  EXPECT_EQ(dir_.read_tail("device", 10), "");
}

// A file that cannot be read now is not a missing file: its content is
// unknown, and the caller must not conclude anything from it.
TEST_F(ExecutionDirectoryTest, AFileThatCannotBeReadIsNotTakenForAMissingOne) {
  dir_.write("state", "content");
  fs::permissions(dir_.file("state"), fs::perms::none);
  FilePermissionsApply permissions;
  const auto read = dir_.read_regular("state");
  EXPECT_EQ(read.status, Status::unreadable);
  EXPECT_EQ(read.error, std::errc::permission_denied);
  try {
    dir_.read("state");
    ADD_FAILURE() << "an unreadable file was read";
  } catch (const UnreadableFileError& error) {
    EXPECT_EQ(std::string(error.what()),
              "cannot read " + dir_.file("state").string() + ": Permission denied");
    EXPECT_EQ(error.code(), std::errc::permission_denied);
  }
  EXPECT_THROW(dir_.read_tail("state", 10), UnreadableFileError);
  EXPECT_EQ(dir_.read("missing"), std::nullopt);
  EXPECT_EQ(dir_.read_tail("missing", 10), "");
  // An error while reading (EIO here: address 0 of this process's memory).
  const ExecutionDirectory proc("/proc/self");
  EXPECT_EQ(proc.read_regular("mem").error, std::errc::io_error);
  EXPECT_THROW(proc.read("mem"), UnreadableFileError);
}

TEST_F(ExecutionDirectoryTest, AFifoNeverBlocksAReader) {
  ASSERT_EQ(::mkfifo(dir_.file("fifo").c_str(), 0600), 0);
  // No writer ever comes: a blocking open would wait forever.
  auto read = std::async(std::launch::async, [&] { return dir_.read_regular("fifo").status; });
  ASSERT_EQ(read.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(read.get(), Status::not_regular);
  auto tail = std::async(std::launch::async, [&] { return dir_.read_tail("fifo", 10); });
  ASSERT_EQ(tail.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(tail.get(), "");
}

TEST_F(ExecutionDirectoryTest, ReadsAreCapped) {
  dir_.write("big", std::string(101, 'x'));
  EXPECT_EQ(dir_.read_regular("big", 100).status, Status::too_large);
  EXPECT_TRUE(dir_.read_regular("big", 100).content.empty());
  EXPECT_EQ(dir_.read_regular("big", 101).status, Status::ok);
  dir_.write("huge", std::string(kMaxReadBytes + 1, 'x'));
  EXPECT_EQ(dir_.read("huge"), std::nullopt);
}

TEST_F(ExecutionDirectoryTest, ReadTailHandsOverWhatPrecedesTheTail) {
  std::string text;
  for (int i = 0; i < 20000; ++i) text += std::to_string(i) + "\n";
  dir_.write("log", text);
  std::string skipped;
  const std::string tail =
      dir_.read_tail("log", 100, [&](std::string_view piece) { skipped.append(piece); });
  EXPECT_EQ(tail, text.substr(text.size() - 100));
  EXPECT_EQ(skipped + tail, text);
  EXPECT_EQ(dir_.read_tail("log", text.size() + 1), text);
}

}  // namespace
}  // namespace flint::drivers::script
