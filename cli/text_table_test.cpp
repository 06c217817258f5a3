#include "text_table.hpp"

#include <gtest/gtest.h>

namespace flint::cli {
namespace {

TEST(TextTable, PadsEachColumnToItsWidestCellButNotTheLast) {
  EXPECT_EQ(text_table({{"NAME", "STATUS", "DETAILS"},
                        {"app", "OK", "version=0.2.0"},
                        {"driver_files", "DEGRADED", ""}}),
            "NAME          STATUS    DETAILS\n"
            "app           OK        version=0.2.0\n"
            "driver_files  DEGRADED\n");
  EXPECT_EQ(text_table({}), "");
  EXPECT_EQ(text_table({{"ONLY"}, {"a"}}), "ONLY\na\n");
}

}  // namespace
}  // namespace flint::cli
