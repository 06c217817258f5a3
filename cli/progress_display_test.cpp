#include "progress_display.hpp"

#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace flint::cli {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

TEST(ProgressDisplayTest, PlainModePrintsOneLinePerChange) {
  std::ostringstream out;
  {
    ProgressDisplay progress(out, false, "Create", "ACCEPTED");
    progress.set_status("IN_PROGRESS");
    progress.set_status("IN_PROGRESS");  // unchanged: nothing printed
    progress.note("request r-1 accepted");
  }
  std::istringstream lines(out.str());
  std::string line;
  std::vector<std::string> all;
  while (std::getline(lines, line)) all.push_back(line);
  ASSERT_EQ(all.size(), 2u) << out.str();
  EXPECT_THAT(all[0], StartsWith("flint: Create: IN_PROGRESS ("));
  EXPECT_EQ(all[1], "flint: request r-1 accepted");
  EXPECT_EQ(out.str().find('\r'), std::string::npos) << "no terminal codes when not live";
}

TEST(ProgressDisplayTest, LiveModeRedrawsOneLineAndClearsIt) {
  std::ostringstream out;
  {
    ProgressDisplay progress(out, true, "Create", "ACCEPTED");
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    progress.note("request r-1 accepted");
    progress.set_status("IN_PROGRESS");
    progress.stop();
    progress.set_status("COMPLETE");  // after stop: nothing drawn
  }
  const std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("\r\x1b[2K| Create  "));
  EXPECT_THAT(text, HasSubstr("\r\x1b[2K/ Create  ")) << "the spinner turns";
  EXPECT_THAT(text, HasSubstr("ACCEPTED"));
  EXPECT_THAT(text, HasSubstr("\r\x1b[2Kflint: request r-1 accepted\n"));
  EXPECT_THAT(text, HasSubstr("IN_PROGRESS"));
  EXPECT_THAT(text, Not(HasSubstr("COMPLETE")));
  EXPECT_THAT(text, EndsWith("\r\x1b[2K")) << "the live line is cleared at the end";
}

}  // namespace
}  // namespace flint::cli
