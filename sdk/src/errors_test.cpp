#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <flint/sdk/errors.hpp>

namespace flint::sdk {
namespace {

constexpr ErrorKind kAllKinds[] = {ErrorKind::invalid_request,
                                   ErrorKind::invalid_lifecycle_name,
                                   ErrorKind::invalid_driver_files,
                                   ErrorKind::request_not_found,
                                   ErrorKind::unreachable_location,
                                   ErrorKind::temporary,
                                   ErrorKind::driver,
                                   ErrorKind::invalid_template,
                                   ErrorKind::infrastructure_not_found,
                                   ErrorKind::not_found,
                                   ErrorKind::already_exists,
                                   ErrorKind::conflict,
                                   ErrorKind::unauthorized,
                                   ErrorKind::not_implemented};

TEST(ErrorKind, NamesRoundTrip) {
  EXPECT_EQ(to_string(ErrorKind::invalid_request), "invalid_request");
  EXPECT_EQ(to_string(ErrorKind::unreachable_location), "unreachable_location");
  EXPECT_EQ(to_string(ErrorKind::driver), "driver");
  for (auto kind : kAllKinds) EXPECT_EQ(parse_error_kind(to_string(kind)), kind);
  EXPECT_EQ(parse_error_kind("Temporary"), std::nullopt);
  EXPECT_EQ(parse_error_kind(""), std::nullopt);
}

TEST(ErrorKind, EveryKindHasItsOwnNameAndCode) {
  std::set<std::string_view> names;
  std::set<std::string_view> codes;
  for (auto kind : kAllKinds) {
    EXPECT_TRUE(names.insert(to_string(kind)).second) << to_string(kind);
    EXPECT_TRUE(codes.insert(default_code(kind)).second) << default_code(kind);
  }
  EXPECT_EQ(default_code(ErrorKind::not_found), "NotFound");
  EXPECT_EQ(default_code(ErrorKind::unreachable_location), "UnreachableLocation");
}

TEST(ErrorKind, OnlyTheTargetsFailuresCountOnItsBreaker) {
  for (auto kind : kAllKinds) {
    const bool counts = kind == ErrorKind::unreachable_location || kind == ErrorKind::temporary ||
                        kind == ErrorKind::driver;
    EXPECT_EQ(counts_against_target(kind), counts) << to_string(kind);
  }
}

TEST(DriverError, CarriesKindMessageAndDetail) {
  DriverError error(ErrorKind::temporary, "busy", "pool exhausted on node 3");
  EXPECT_STREQ(error.what(), "busy");
  EXPECT_EQ(error.kind(), ErrorKind::temporary);
  EXPECT_EQ(error.operator_detail(), "pool exhausted on node 3");
  EXPECT_EQ(ResourceDriverError("x").operator_detail(), "");
}

TEST(DriverError, CodeDefaultsToTheKinds) {
  const NotFoundError plain("volume 'v1' not found");
  EXPECT_EQ(plain.code(), "NotFound");
  EXPECT_TRUE(plain.args().empty());
  EXPECT_FALSE(plain.has_specific_code());
  EXPECT_FALSE(DriverError(ErrorKind::driver, "m", "", {.name = "Driver"}).has_specific_code());
}

TEST(DriverError, CarriesTheDriversCodeAndArgs) {
  const UnauthorizedError error("wrong user name or password for 10.0.0.1:8443", "",
                                {"InvalidUsernameOrPassword", {"10.0.0.1", "8443"}});
  EXPECT_EQ(error.kind(), ErrorKind::unauthorized);
  EXPECT_EQ(error.code(), "InvalidUsernameOrPassword");
  EXPECT_EQ(error.args(), (std::vector<std::string>{"10.0.0.1", "8443"}));
  EXPECT_TRUE(error.has_specific_code());
  // Arguments alone are specific too: the code stays the kind's.
  const ConflictError in_use("volume 'v1' is in use", "", {.args = {"v1"}});
  EXPECT_EQ(in_use.code(), "Conflict");
  EXPECT_TRUE(in_use.has_specific_code());
}

TEST(DriverError, SubclassesSetTheirKind) {
  EXPECT_EQ(InvalidRequestError("m").kind(), ErrorKind::invalid_request);
  EXPECT_EQ(InvalidLifecycleNameError("m").kind(), ErrorKind::invalid_lifecycle_name);
  EXPECT_EQ(InvalidDriverFilesError("m").kind(), ErrorKind::invalid_driver_files);
  EXPECT_EQ(RequestNotFoundError("m").kind(), ErrorKind::request_not_found);
  EXPECT_EQ(UnreachableDeploymentLocationError("m").kind(), ErrorKind::unreachable_location);
  EXPECT_EQ(TemporaryDriverError("m").kind(), ErrorKind::temporary);
  EXPECT_EQ(TemporaryHostError("m").kind(), ErrorKind::temporary);
  EXPECT_THROW(throw TemporaryHostError("m"), TemporaryDriverError);  // a 503 wherever caught
  EXPECT_EQ(ResourceDriverError("m").kind(), ErrorKind::driver);
  EXPECT_EQ(InvalidTemplateError("m").kind(), ErrorKind::invalid_template);
  EXPECT_EQ(InfrastructureNotFoundError("m").kind(), ErrorKind::infrastructure_not_found);
  EXPECT_EQ(InfrastructureError("m").kind(), ErrorKind::driver);
  EXPECT_EQ(NotFoundError("m").kind(), ErrorKind::not_found);
  EXPECT_EQ(AlreadyExistsError("m").kind(), ErrorKind::already_exists);
  EXPECT_EQ(ConflictError("m").kind(), ErrorKind::conflict);
  EXPECT_EQ(UnauthorizedError("m").kind(), ErrorKind::unauthorized);
  EXPECT_EQ(NotImplementedError("m").kind(), ErrorKind::not_implemented);
}

TEST(RaiseError, ThrowsTheMatchingSubclass) {
  for (auto kind : kAllKinds) {
    try {
      raise_error(kind, "message", "detail", {"Specific", {"a"}});
      ADD_FAILURE() << "raise_error returned";
    } catch (const DriverError& error) {
      EXPECT_EQ(error.kind(), kind);
      EXPECT_STREQ(error.what(), "message");
      EXPECT_EQ(error.operator_detail(), "detail");
      EXPECT_EQ(error.code(), "Specific");
      EXPECT_EQ(error.args(), std::vector<std::string>{"a"});
    }
  }
  EXPECT_THROW(raise_error(ErrorKind::temporary, "m"), TemporaryDriverError);
  EXPECT_THROW(raise_error(ErrorKind::request_not_found, "m"), RequestNotFoundError);
  EXPECT_THROW(raise_error(ErrorKind::unreachable_location, "m"),
               UnreachableDeploymentLocationError);
  EXPECT_THROW(raise_error(ErrorKind::driver, "m"), ResourceDriverError);
  EXPECT_THROW(raise_error(ErrorKind::not_implemented, "m"), NotImplementedError);
  EXPECT_THROW(raise_error(ErrorKind::unauthorized, "m"), UnauthorizedError);
}

}  // namespace
}  // namespace flint::sdk
