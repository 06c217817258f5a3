#include "drivers/driver_catalog.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config_error.hpp"

namespace flint::drivers {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

sdk::ResourceDriverFactory no_factory() {
  return [](const sdk::DriverInstanceContext&) { return std::unique_ptr<sdk::ResourceDriver>(); };
}

std::function<void(sdk::DriverRegistrar&)> registers(std::vector<sdk::DriverInfo> infos) {
  return [infos](sdk::DriverRegistrar& registrar) {
    for (const auto& info : infos) registrar.add_resource_driver(info, no_factory());
  };
}

std::string add_error(DriverCatalog& catalog, std::vector<sdk::DriverInfo> infos) {
  try {
    catalog.add("lib.so", registers(std::move(infos)));
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(DriverCatalog, RegistersInOrderWithOrigin) {
  DriverCatalog catalog;
  catalog.add("built-in", registers({{.name = "noop"}, {.name = "script"}}));
  catalog.add("/opt/acme.so", registers({{.name = "acme", .vendor = "Acme", .model = "X1"}}));
  ASSERT_EQ(catalog.drivers().size(), 3u);
  EXPECT_EQ(catalog.drivers()[2].origin, "/opt/acme.so");
  EXPECT_EQ(catalog.find("script")->origin, "built-in");
  EXPECT_EQ(catalog.find("missing"), nullptr);
}

TEST(DriverCatalog, RefusesBadOrTakenNamesAndRegistersNothingOfThatLibrary) {
  DriverCatalog catalog;
  catalog.add("built-in", registers({{.name = "noop"}}));
  EXPECT_EQ(add_error(catalog, {{.name = "fine"}, {.name = "noop"}}),
            "driver 'noop' is already registered by built-in");
  EXPECT_EQ(catalog.find("fine"), nullptr) << "all or nothing";
  EXPECT_THAT(add_error(catalog, {{.name = "Bad.Name"}}),
              HasSubstr("driver name 'Bad.Name' is invalid"));
  EXPECT_EQ(add_error(catalog, {{.name = "twice"}, {.name = "twice"}}),
            "driver 'twice' is registered twice by lib.so");
  EXPECT_THAT(add_error(catalog, {{.name = "s", .settings = {{.name = "A-b"}}}}),
              HasSubstr("setting name 'A-b' is invalid"));
  EXPECT_EQ(catalog.drivers().size(), 1u);
}

TEST(DriverCatalog, AnyKindRegistersThroughOneEntryPointAndUnhostedKindsAreRefused) {
  DriverCatalog catalog;
  catalog.add("built-in", [](sdk::DriverRegistrar& registrar) {
    registrar.add_driver(sdk::DriverKind::infrastructure, {.name = "vim"},
                         [](const sdk::DriverInstanceContext&) { return nullptr; });
  });
  ASSERT_NE(catalog.find("vim"), nullptr);
  EXPECT_EQ(catalog.find("vim")->kind, sdk::DriverKind::infrastructure);
  // A contract this build does not serve yet is refused by name, not hosted as another.
  try {
    catalog.add("/opt/delfin.so", [](sdk::DriverRegistrar& registrar) {
      registrar.add_driver(sdk::DriverKind::storage, {.name = "array"},
                           [](const sdk::DriverInstanceContext&) { return nullptr; });
    });
    FAIL() << "a storage driver was taken";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(),
                 "driver 'array' is of kind storage, which this Flint does not host (it hosts "
                 "resource and infrastructure drivers)");
  }
  EXPECT_EQ(catalog.find("array"), nullptr);
}

TEST(DriverCatalog, FindsByVendorAndModelPreferringTheExactModel) {
  DriverCatalog catalog;
  catalog.add("built-in", registers({{.name = "acme-any", .vendor = "Acme"},
                                     {.name = "acme-x1", .vendor = "Acme", .model = "X1"}}));
  EXPECT_EQ(catalog.find_by_vendor_model(sdk::DriverKind::resource, "acme", "x1")->info.name,
            "acme-x1");
  EXPECT_EQ(catalog.find_by_vendor_model(sdk::DriverKind::resource, "ACME", "Z9")->info.name,
            "acme-any");
  EXPECT_EQ(catalog.find_by_vendor_model(sdk::DriverKind::resource, "Other", "X1"), nullptr);
}

TEST(DriverCatalog, ChecksAndNormalisesSettings) {
  DriverCatalog catalog;
  catalog.add(
      "built-in",
      registers(
          {{.name = "acme",
            .settings = {
                {.name = "timeout", .type = sdk::SettingType::duration, .default_value = "5s"},
                {.name = "tls", .type = sdk::SettingType::boolean},
                {.name = "retries", .type = sdk::SettingType::integer, .default_value = "3"},
                {.name = "host"}}}}));
  catalog.configure({{"acme.tls", "yes"}, {"acme.retries", "7"}});
  const auto& settings = catalog.find("acme")->settings;
  EXPECT_EQ(settings.duration("timeout"), std::chrono::seconds(5));
  EXPECT_TRUE(settings.boolean("tls"));
  EXPECT_EQ(settings.integer("retries"), 7);
  EXPECT_EQ(settings.text("host"), "");
}

TEST(DriverCatalog, SettingErrorsNameTheKeyAndHideSecrets) {
  DriverCatalog catalog;
  catalog.add(
      "built-in",
      registers(
          {{.name = "acme",
            .settings = {{.name = "retries", .type = sdk::SettingType::integer},
                         {.name = "password", .required = true, .secret = true},
                         {.name = "port", .type = sdk::SettingType::integer, .secret = true}}}}));
  try {
    catalog.configure({{"acme.retries", "many"},
                       {"acme.colour", "red"},
                       {"other.x", "1"},
                       {"flat", "1"},
                       {"acme.port", "s3cr3t"}});
    FAIL() << "expected a ConfigError";
  } catch (const config::ConfigError& e) {
    EXPECT_THAT(e.errors(),
                ElementsAre("drivers.settings.flat: expected <driver>.<setting>",
                            "drivers.settings.other.x: no driver named 'other' is registered",
                            HasSubstr("drivers.settings.acme.retries: expected an integer"),
                            HasSubstr("drivers.settings.acme.password: required by driver 'acme'"),
                            HasSubstr("drivers.settings.acme.port: expected an integer"),
                            "drivers.settings.acme.colour: driver 'acme' has no setting 'colour'"));
    for (const auto& error : e.errors()) EXPECT_THAT(error, ::testing::Not(HasSubstr("s3cr3t")));
  }
}

}  // namespace
}  // namespace flint::drivers
