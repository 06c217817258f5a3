#include <flint/sdk/driver_plugin.hpp>

#include <gtest/gtest.h>

namespace flint::sdk {
namespace {

TEST(DriverName, AcceptsLowerCaseDigitsDashAndUnderscore) {
  EXPECT_TRUE(is_valid_driver_name("noop"));
  EXPECT_TRUE(is_valid_driver_name("acme-x1_v2"));
  EXPECT_TRUE(is_valid_driver_name("9lives"));
  EXPECT_FALSE(is_valid_driver_name(""));
  EXPECT_FALSE(is_valid_driver_name("Acme"));
  EXPECT_FALSE(is_valid_driver_name("acme.x"));  // dots separate settings keys
  EXPECT_FALSE(is_valid_driver_name("-acme"));
  EXPECT_FALSE(is_valid_driver_name(std::string(65, 'a')));
}

TEST(DriverSettings, ReadsNormalisedValuesAndNamesTheKeyOnError) {
  const DriverSettings settings("acme", {{"host", "a.example"},
                                         {"retries", "3"},
                                         {"tls", "true"},
                                         {"timeout", "2500"},
                                         {"bad", "x"}});
  EXPECT_EQ(settings.text("host"), "a.example");
  EXPECT_EQ(settings.integer("retries"), 3);
  EXPECT_TRUE(settings.boolean("tls"));
  EXPECT_EQ(settings.duration("timeout"), std::chrono::milliseconds(2500));
  EXPECT_FALSE(settings.find("port").has_value());
  try {
    (void)settings.text("port");
    FAIL() << "expected an error";
  } catch (const std::out_of_range& e) {
    EXPECT_STREQ(e.what(), "drivers.settings.acme.port: not set and no default");
  }
  try {
    (void)settings.integer("bad");
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "drivers.settings.acme.bad: expected an integer, found 'x'");
  }
  EXPECT_THROW((void)settings.boolean("bad"), std::invalid_argument);
}

TEST(DriverKind, HasListingNames) {
  EXPECT_EQ(to_string(DriverKind::resource), "resource");
  EXPECT_EQ(to_string(DriverKind::infrastructure), "infrastructure");
  EXPECT_EQ(to_string(DriverKind::handler), "handler");
}

}  // namespace
}  // namespace flint::sdk
