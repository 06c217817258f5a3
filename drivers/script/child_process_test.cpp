#include "script/child_process.hpp"

#include <thread>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "script/test_support.hpp"

namespace flint::drivers::script {
namespace {

using testing::process_dead;
using testing::read_text;
using testing::TempDir;

class ChildProcessTest : public ::testing::Test {
 protected:
  SpawnSpec shell(std::string script) {
    testing::write_package_file(dir_.path(), "stdin.txt", "from stdin\n");
    SpawnSpec spec;
    spec.argv = {"/bin/sh", "-c", std::move(script)};
    spec.environment = {"PATH=/usr/bin:/bin", "GREETING=hello"};
    spec.working_directory = dir_.path();
    spec.stdin_file = dir_.path() / "stdin.txt";
    spec.stdout_file = dir_.path() / "out.log";
    spec.stderr_file = dir_.path() / "err.log";
    return spec;
  }
  TempDir dir_;
};

TEST_F(ChildProcessTest, RunsWithFilesEnvironmentAndWorkingDirectory) {
  auto child = ChildProcess::spawn(shell(
      "cat; echo \"$GREETING from $(pwd)\"; echo oops >&2; echo \"${HOME:-nohome}\"; exit 7"));
  EXPECT_EQ(::getpgid(child.pid()), child.pid());  // leads its own group
  ASSERT_TRUE(child.wait_until(std::chrono::steady_clock::now() + std::chrono::seconds(10)));
  EXPECT_TRUE(child.has_exited());
  const auto status = child.reap();
  ASSERT_TRUE(status.has_value());
  ASSERT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 7);
  EXPECT_EQ(read_text(dir_.path() / "out.log"),
            "from stdin\nhello from " + dir_.path().string() + "\nnohome\n");
  EXPECT_EQ(read_text(dir_.path() / "err.log"), "oops\n");
}

TEST_F(ChildProcessTest, DoesNotLeakHostDescriptors) {
  const int fd = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC on purpose
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::dup2(fd, 100), 100);
  auto child = ChildProcess::spawn(
      shell("if [ -e /proc/self/fd/100 ]; then echo leaked; else echo clean; fi"));
  child.reap();
  ::close(100);
  ::close(fd);
  EXPECT_EQ(read_text(dir_.path() / "out.log"), "clean\n");
}

TEST_F(ChildProcessTest, SignalGroupKillsBackgroundChildren) {
  auto child = ChildProcess::spawn(shell("sleep 30 & echo $! > bg.pid; wait"));
  ASSERT_TRUE(testing::eventually([&] { return !read_text(dir_.path() / "bg.pid").empty(); }));
  const pid_t background = std::stoi(read_text(dir_.path() / "bg.pid"));
  EXPECT_FALSE(child.wait_until(std::chrono::steady_clock::now() + std::chrono::milliseconds(50)));
  EXPECT_TRUE(process_group_exists(child.pid()));

  child.signal_group(SIGKILL);
  ASSERT_TRUE(child.wait_until(std::chrono::steady_clock::now() + std::chrono::seconds(10)));
  const auto status = child.reap();
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFSIGNALED(*status));
  EXPECT_TRUE(testing::eventually([&] { return process_dead(background); }));
}

TEST_F(ChildProcessTest, StartsWithDefaultSignalsEvenWhenTheHostIgnoresThem) {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction previous {};
  ::sigaction(SIGTERM, &ignore, &previous);
  auto child = ChildProcess::spawn(shell("sleep 30"));
  ::sigaction(SIGTERM, &previous, nullptr);
  child.signal_group(SIGTERM);
  ASSERT_TRUE(child.wait_until(std::chrono::steady_clock::now() + std::chrono::seconds(10)));
  const auto status = child.reap();
  ASSERT_TRUE(status.has_value());
  ASSERT_TRUE(WIFSIGNALED(*status));
  EXPECT_EQ(WTERMSIG(*status), SIGTERM);
}

TEST_F(ChildProcessTest, StartsInTheNormalSchedulingClassFromABatchThread) {
  std::thread driver_thread([&] {
    const sched_param normal_priority{};
    ASSERT_EQ(sched_setscheduler(0, SCHED_BATCH, &normal_priority), 0);  // as a host driver thread
    auto child = ChildProcess::spawn(shell("cut -d' ' -f41 /proc/$$/stat"));  // its policy
    child.reap();
  });
  driver_thread.join();
  EXPECT_EQ(read_text(dir_.path() / "out.log"), std::to_string(SCHED_OTHER) + "\n");
}

TEST_F(ChildProcessTest, RefusesRelativeProgramsAndReportsMissingFiles) {
  auto spec = shell("true");
  spec.argv.front() = "sh";
  EXPECT_THROW(ChildProcess::spawn(spec), std::system_error);
  spec = shell("true");
  spec.stdin_file = dir_.path() / "missing";
  EXPECT_THROW(ChildProcess::spawn(spec), std::system_error);
}

}  // namespace
}  // namespace flint::drivers::script
