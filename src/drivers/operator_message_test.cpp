#include "drivers/operator_message.hpp"

#include <stdexcept>

#include <gtest/gtest.h>

namespace flint::drivers {
namespace {

// The operator's half of a driver's error goes to the log only.
TEST(OperatorMessage, AddsADriversDetailForTheOperator) {
  EXPECT_EQ(operator_message(sdk::DriverError(sdk::ErrorKind::driver, "failed", "host h1 down")),
            "failed (host h1 down)");
  EXPECT_EQ(operator_message(sdk::TemporaryDriverError("busy")), "busy");
  EXPECT_EQ(operator_message(std::runtime_error("plain")), "plain");
}

}  // namespace
}  // namespace flint::drivers
