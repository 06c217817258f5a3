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

// A driver's own code tells the operator which error it was, by name.
TEST(OperatorMessage, NamesADriversOwnCodeAndArguments) {
  EXPECT_EQ(
      operator_message(sdk::UnauthorizedError("login refused by 10.0.0.1", "LDAP said: expired",
                                              {"InvalidUsernameOrPassword", {"10.0.0.1", "8443"}})),
      "login refused by 10.0.0.1 [InvalidUsernameOrPassword: 10.0.0.1, 8443] "
      "(LDAP said: expired)");
  EXPECT_EQ(operator_message(sdk::NotFoundError("no volume v1", "", {"VolumeNotFound", {}})),
            "no volume v1 [VolumeNotFound]");
  EXPECT_EQ(operator_message(sdk::NotFoundError("no volume v1")), "no volume v1");  // the default
}

}  // namespace
}  // namespace flint::drivers
