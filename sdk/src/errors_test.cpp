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
                                   ErrorKind::driver};

TEST(ErrorKind, NamesRoundTrip) {
  EXPECT_EQ(to_string(ErrorKind::invalid_request), "invalid_request");
  EXPECT_EQ(to_string(ErrorKind::unreachable_location), "unreachable_location");
  EXPECT_EQ(to_string(ErrorKind::driver), "driver");
  for (auto kind : kAllKinds) EXPECT_EQ(parse_error_kind(to_string(kind)), kind);
  EXPECT_EQ(parse_error_kind("Temporary"), std::nullopt);
  EXPECT_EQ(parse_error_kind(""), std::nullopt);
}

TEST(DriverError, CarriesKindMessageAndDetail) {
  DriverError error(ErrorKind::temporary, "busy", "pool exhausted on node 3");
  EXPECT_STREQ(error.what(), "busy");
  EXPECT_EQ(error.kind(), ErrorKind::temporary);
  EXPECT_EQ(error.operator_detail(), "pool exhausted on node 3");
  EXPECT_EQ(ResourceDriverError("x").operator_detail(), "");
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
}

TEST(RaiseError, ThrowsTheMatchingSubclass) {
  for (auto kind : kAllKinds) {
    try {
      raise_error(kind, "message", "detail");
    } catch (const DriverError& error) {
      EXPECT_EQ(error.kind(), kind);
      EXPECT_STREQ(error.what(), "message");
      EXPECT_EQ(error.operator_detail(), "detail");
    }
  }
  EXPECT_THROW(raise_error(ErrorKind::temporary, "m"), TemporaryDriverError);
  EXPECT_THROW(raise_error(ErrorKind::request_not_found, "m"), RequestNotFoundError);
  EXPECT_THROW(raise_error(ErrorKind::unreachable_location, "m"),
               UnreachableDeploymentLocationError);
  EXPECT_THROW(raise_error(ErrorKind::driver, "m"), ResourceDriverError);
}

}  // namespace
}  // namespace flint::sdk
