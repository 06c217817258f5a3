#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <flint/api/openapi_document.hpp>

namespace flint::api {
namespace {

std::string read_source() {
  std::ifstream in(FLINT_OPENAPI_SOURCE_PATH, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << FLINT_OPENAPI_SOURCE_PATH;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

YAML::Node document() {
  return YAML::Load(std::string(openapi_yaml()));
}

TEST(OpenApiDocument, EmbedsTheSourceFileByteForByte) {
  const std::string source = read_source();
  ASSERT_FALSE(source.empty());
  EXPECT_EQ(openapi_yaml(), source);
}

TEST(OpenApiDocument, IsOpenApi303WithRelativeServer) {
  const YAML::Node doc = document();
  EXPECT_EQ(doc["openapi"].as<std::string>(), "3.0.3");
  ASSERT_TRUE(doc["servers"].IsSequence());
  EXPECT_EQ(doc["servers"][0]["url"].as<std::string>(), "/");
}

TEST(OpenApiDocument, DocumentsEveryRouteWithItsStatusCodes) {
  const YAML::Node paths = document()["paths"];
  const auto codes = [&](const char* path, const char* method) {
    std::set<std::string> out;
    for (const auto& entry : paths[path][method]["responses"]) {
      out.insert(entry.first.as<std::string>());
    }
    return out;
  };
  const std::set<std::string> errors = {"400", "404", "405", "413", "415", "500", "503"};
  for (const auto& [path, success] : {std::pair{"/api/driver/lifecycle/execute", "202"},
                                      std::pair{"/api/driver/references/find", "200"}}) {
    const auto found = codes(path, "post");
    EXPECT_TRUE(found.contains(success)) << path;
    for (const auto& code : errors) EXPECT_TRUE(found.contains(code)) << path << " " << code;
  }
  EXPECT_TRUE(codes("/management/health", "get").contains("200"));
  EXPECT_TRUE(codes("/management/health", "get").contains("503"));
  EXPECT_TRUE(codes("/metrics", "get").contains("200"));
  EXPECT_TRUE(codes("/api/driver/openapi.json", "get").contains("200"));
}

TEST(OpenApiDocument, ErrorBodyHasMessageAndStatus) {
  const YAML::Node error = document()["components"]["schemas"]["Error"];
  EXPECT_EQ(error["properties"]["localizedMessage"]["type"].as<std::string>(), "string");
  EXPECT_EQ(error["properties"]["status"]["type"].as<std::string>(), "integer");
}

TEST(OpenApiDocument, ExecuteRequestRequiresTheContractFields) {
  const YAML::Node request = document()["components"]["schemas"]["ExecuteLifecycleRequest"];
  std::set<std::string> required;
  for (const auto& field : request["required"]) required.insert(field.as<std::string>());
  EXPECT_EQ(required, (std::set<std::string>{"lifecycleName", "driverFiles", "systemProperties",
                                             "deploymentLocation"}));
}

TEST(OpenApiDocument, KeyPropertyRequiresPrivateKey) {
  const YAML::Node key = document()["components"]["schemas"]["KeyProperty"];
  bool requires_private_key = false;
  for (const auto& field : key["required"]) {
    requires_private_key |= field.as<std::string>() == "privateKey";
  }
  EXPECT_TRUE(requires_private_key);
  EXPECT_TRUE(key["properties"]["keyName"]);
  EXPECT_TRUE(key["properties"]["publicKey"]);
}

TEST(OpenApiDocument, VitalStatusesMatchTheHealthContract) {
  const YAML::Node status =
      document()["components"]["schemas"]["Vital"]["properties"]["status"]["enum"];
  std::set<std::string> values;
  for (const auto& value : status) values.insert(value.as<std::string>());
  EXPECT_EQ(values, (std::set<std::string>{"OK", "DEGRADED", "UNHEALTHY"}));
}

}  // namespace
}  // namespace flint::api
