#include "http/file_limit.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

namespace flint::http {
namespace {

TEST(OpenFileLimit, RaisesTheSoftLimitToTheHardOne) {
  rlimit original{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &original), 0);
  if (original.rlim_max < 128) GTEST_SKIP() << "hard limit on open files too low to lower";
  const rlimit lowered{100, original.rlim_max};
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);

  const OpenFileLimit limit = raise_open_file_limit();

  rlimit now{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &now), 0);
  ::setrlimit(RLIMIT_NOFILE, &original);
  EXPECT_EQ(limit.soft_before, 100u);
  EXPECT_EQ(limit.hard, original.rlim_max);
  EXPECT_EQ(limit.soft, now.rlim_cur);
  EXPECT_EQ(now.rlim_cur, original.rlim_max);
}

}  // namespace
}  // namespace flint::http
