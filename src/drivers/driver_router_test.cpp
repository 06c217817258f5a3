#include "drivers/driver_router.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <flint/sdk/errors.hpp>

#include "config/config_error.hpp"

namespace flint::drivers {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

DriverCatalog catalog_of(std::vector<sdk::DriverInfo> infos) {
  DriverCatalog catalog;
  catalog.add("built-in", [&](sdk::DriverRegistrar& registrar) {
    for (const auto& info : infos) {
      registrar.add_resource_driver(info, [](const sdk::DriverInstanceContext&) {
        return std::unique_ptr<sdk::ResourceDriver>();
      });
    }
  });
  return catalog;
}

sdk::DeploymentLocation location(std::string type, boost::json::object properties = {}) {
  return {.name = "loc-1", .type = std::move(type), .properties = std::move(properties)};
}

std::string route_error(const DriverRouter& router, const sdk::DeploymentLocation& at) {
  try {
    return "routed to " + router.route(at).info.name;
  } catch (const sdk::InvalidRequestError& e) {
    return e.what();
  }
}

const DriverCatalog kCatalog = catalog_of({{.name = "noop"},
                                           {.name = "k8s"},
                                           {.name = "acme", .vendor = "Acme", .model = "X1"},
                                           {.name = "acme-any", .vendor = "Acme"}});

TEST(DriverRouter, OneDefaultDriverServesEverything) {
  const DriverRouter router(kCatalog, sdk::DriverKind::resource, "resource_driver",
                            {.default_driver = "noop"});
  EXPECT_EQ(router.route(location("Kubernetes")).info.name, "noop");
  EXPECT_EQ(router.route(location("")).info.name, "noop");
  EXPECT_THAT(router.routed_drivers(), ElementsAre("noop"));
}

TEST(DriverRouter, LocationTypeThenVendorModelThenDefault) {
  const DriverRouter router(kCatalog, sdk::DriverKind::resource, "resource_driver",
                            {.default_driver = "noop",
                             .by_location_type = {{"Kubernetes", "k8s"}},
                             .by_vendor_model = true});
  EXPECT_EQ(router.route(location("Kubernetes", {{"vendor", "Acme"}})).info.name, "k8s");
  EXPECT_EQ(router.route(location("Appliance", {{"vendor", "acme"}, {"model", "x1"}})).info.name,
            "acme");
  EXPECT_EQ(router.route(location("Appliance", {{"vendor", "Acme"}, {"model", "Z"}})).info.name,
            "acme-any");
  EXPECT_EQ(router.route(location("Openstack")).info.name, "noop");
  EXPECT_EQ(route_error(router, location("Appliance", {{"vendor", "Initech"}, {"model", "T"}})),
            "deploymentLocation.properties: no resource driver is registered for vendor "
            "'Initech' model 'T'");
  // Every driver a vendor can pick is routed (its shared instance is made at start).
  EXPECT_THAT(router.routed_drivers(), ElementsAre("noop", "k8s", "acme", "acme-any"));
}

TEST(DriverRouter, VendorAndModelInAnErrorArePrintableAndShort) {
  const DriverRouter router(kCatalog, sdk::DriverKind::resource, "resource_driver",
                            {.by_vendor_model = true});
  const std::string long_vendor(2'000'000, 'v');
  EXPECT_EQ(route_error(router, location("A", {{"vendor", std::string("Ac\0me", 5)}})),
            "deploymentLocation.properties: no resource driver is registered for vendor 'Ac?me'");
  const std::string error = route_error(router, location("A", {{"vendor", long_vendor}}));
  EXPECT_LT(error.size(), 300u);
  EXPECT_THAT(error, HasSubstr("vvv...'"));
}

TEST(DriverRouter, AVendorOrModelThatIsNotAStringIsRefusedNotTakenForAbsent) {
  const DriverRouter router(kCatalog, sdk::DriverKind::resource, "resource_driver",
                            {.default_driver = "noop", .by_vendor_model = true});
  EXPECT_EQ(route_error(router, location("A", {{"vendor", "Acme"}, {"model", 5}})),
            "deploymentLocation.properties.model: expected a string (it chooses the driver)");
  EXPECT_EQ(route_error(router, location("A", {{"vendor", 7}})),
            "deploymentLocation.properties.vendor: expected a string (it chooses the driver)");
  // Null is absent, as everywhere in the contract.
  EXPECT_EQ(route_error(router, location("A", {{"vendor", "Acme"}, {"model", nullptr}})),
            "routed to acme-any");
  EXPECT_EQ(route_error(router, location("A", {{"vendor", nullptr}})), "routed to noop");
}

TEST(DriverRouter, TwoDriversForOneVendorAndModelAreAConfigErrorWhenRoutingByThem) {
  const DriverCatalog catalog = catalog_of({{.name = "acme", .vendor = "Acme", .model = "X1"},
                                            {.name = "evil", .vendor = "ACME", .model = "x1"},
                                            {.name = "any-1", .vendor = "Acme"},
                                            {.name = "any-2", .vendor = "acme"},
                                            {.name = "other", .vendor = "Acme", .model = "X2"}});
  try {
    DriverRouter router(catalog, sdk::DriverKind::resource, "resource_driver",
                        {.by_vendor_model = true});
    FAIL() << "expected a ConfigError";
  } catch (const config::ConfigError& e) {
    EXPECT_THAT(e.errors(),
                ElementsAre("resource_driver.routes.vendor_model: drivers 'acme' (built-in) and "
                            "'evil' (built-in) both register vendor 'Acme' model 'X1': remove one, "
                            "or route such locations by type",
                            HasSubstr("drivers 'any-1' (built-in) and 'any-2' (built-in) both "
                                      "register vendor 'Acme' for any model")));
  }
  // Without vendor routing nothing is ambiguous.
  EXPECT_NO_THROW(DriverRouter(catalog, sdk::DriverKind::resource, "resource_driver",
                               {.default_driver = "acme"}));
}

TEST(DriverRouter, NoDefaultRefusesUnroutedLocations) {
  const DriverRouter router(kCatalog, sdk::DriverKind::resource, "resource_driver",
                            {.default_driver = "", .by_location_type = {{"Kubernetes", "k8s"}}});
  EXPECT_EQ(route_error(router, location("Openstack")),
            "deploymentLocation: no resource driver serves location 'loc-1' of type 'Openstack' "
            "(no route in resource_driver.routes matches and resource_driver.driver is empty)");
}

TEST(DriverRouter, UnknownDriversInTheRulesAreConfigErrors) {
  try {
    DriverRouter router(kCatalog, sdk::DriverKind::resource, "resource_driver",
                        {.default_driver = "nope", .by_location_type = {{"Kubernetes", "kube"}}});
    FAIL() << "expected a ConfigError";
  } catch (const config::ConfigError& e) {
    EXPECT_THAT(e.errors(),
                ElementsAre("resource_driver.driver: no resource driver named 'nope' "
                            "(registered: noop, k8s, acme, acme-any)",
                            HasSubstr("resource_driver.routes.location_type.Kubernetes: no "
                                      "resource driver named 'kube'")));
  }
}

TEST(DriverRouter, RoutesOnlyAmongDriversOfItsKind) {
  DriverCatalog catalog = catalog_of({{.name = "noop"}});
  catalog.add("built-in", [](sdk::DriverRegistrar& registrar) {
    registrar.add_infrastructure_driver({.name = "netns"}, [](const sdk::DriverInstanceContext&) {
      return std::unique_ptr<sdk::InfrastructureDriver>();
    });
  });
  const DriverRouter router(catalog, sdk::DriverKind::infrastructure, "infrastructure_driver",
                            {.default_driver = "netns"});
  EXPECT_EQ(router.route(location("Local")).info.name, "netns");
  try {
    DriverRouter wrong(catalog, sdk::DriverKind::infrastructure, "infrastructure_driver",
                       {.default_driver = "noop"});
    FAIL() << "expected a ConfigError";
  } catch (const config::ConfigError& e) {
    EXPECT_THAT(e.errors(), ElementsAre("infrastructure_driver.driver: driver 'noop' is a "
                                        "resource driver, not an infrastructure driver"));
  }
  try {
    DriverRouter wrong(catalog, sdk::DriverKind::resource, "resource_driver",
                       {.default_driver = "netns"});
    FAIL() << "expected a ConfigError";
  } catch (const config::ConfigError& e) {
    EXPECT_THAT(e.errors(), ElementsAre("resource_driver.driver: driver 'netns' is an "
                                        "infrastructure driver, not a resource driver"));
  }
}

}  // namespace
}  // namespace flint::drivers
