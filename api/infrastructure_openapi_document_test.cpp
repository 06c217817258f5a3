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
  std::ifstream in(FLINT_INFRASTRUCTURE_OPENAPI_SOURCE_PATH, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << FLINT_INFRASTRUCTURE_OPENAPI_SOURCE_PATH;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

YAML::Node document() {
  return YAML::Load(std::string(infrastructure_openapi_yaml()));
}

std::set<std::string> required_of(const char* schema) {
  std::set<std::string> out;
  for (const auto& field : document()["components"]["schemas"][schema]["required"]) {
    out.insert(field.as<std::string>());
  }
  return out;
}

TEST(InfrastructureOpenApiDocument, EmbedsTheSourceFileByteForByte) {
  const std::string source = read_source();
  ASSERT_FALSE(source.empty());
  EXPECT_EQ(infrastructure_openapi_yaml(), source);
  EXPECT_NE(infrastructure_openapi_yaml(), openapi_yaml());
}

TEST(InfrastructureOpenApiDocument, IsOpenApi303WithRelativeServer) {
  const YAML::Node doc = document();
  EXPECT_EQ(doc["openapi"].as<std::string>(), "3.0.3");
  ASSERT_TRUE(doc["servers"].IsSequence());
  EXPECT_EQ(doc["servers"][0]["url"].as<std::string>(), "/");
}

TEST(InfrastructureOpenApiDocument, DocumentsEveryOperationWithItsStatusCodes) {
  const YAML::Node paths = document()["paths"];
  const std::set<std::string> errors = {"400", "404", "405", "413", "415", "500", "503"};
  for (const auto& [path, success] : {std::pair{"/api/infrastructure/create", "202"},
                                      std::pair{"/api/infrastructure/delete", "202"},
                                      std::pair{"/api/infrastructure/query", "200"},
                                      std::pair{"/api/infrastructure/find", "200"}}) {
    const YAML::Node post = paths[path]["post"];
    ASSERT_TRUE(post) << path;
    EXPECT_EQ(post["tags"][0].as<std::string>(), "infrastructure") << path;
    std::set<std::string> codes;
    for (const auto& entry : post["responses"]) codes.insert(entry.first.as<std::string>());
    EXPECT_TRUE(codes.contains(success)) << path;
    for (const auto& code : errors) EXPECT_TRUE(codes.contains(code)) << path << " " << code;
  }
  EXPECT_TRUE(paths["/api/infrastructure/openapi.json"]["get"]["responses"]["200"]);
}

TEST(InfrastructureOpenApiDocument, RequestsRequireTheContractFields) {
  EXPECT_EQ(required_of("CreateInfrastructureRequest"),
            (std::set<std::string>{"template", "templateType", "systemProperties",
                                   "deploymentLocation"}));
  EXPECT_EQ(required_of("DeleteInfrastructureRequest"),
            (std::set<std::string>{"infrastructureId", "deploymentLocation"}));
  EXPECT_EQ(required_of("QueryInfrastructureRequest"),
            (std::set<std::string>{"infrastructureId", "requestId", "deploymentLocation"}));
  EXPECT_EQ(
      required_of("FindInfrastructureRequest"),
      (std::set<std::string>{"template", "templateType", "instanceName", "deploymentLocation"}));
}

TEST(InfrastructureOpenApiDocument, RepliesHaveTheContractShape) {
  EXPECT_EQ(required_of("InfrastructureTaskAccepted"),
            (std::set<std::string>{"infrastructureId", "requestId"}));
  const YAML::Node task = document()["components"]["schemas"]["InfrastructureTask"];
  std::set<std::string> statuses;
  for (const auto& value : task["properties"]["status"]["enum"]) {
    statuses.insert(value.as<std::string>());
  }
  EXPECT_EQ(statuses, (std::set<std::string>{"IN_PROGRESS", "COMPLETE", "FAILED"}));
  std::set<std::string> codes;
  for (const auto& value :
       document()["components"]["schemas"]["FailureDetails"]["properties"]["failureCode"]["enum"]) {
    codes.insert(value.as<std::string>());
  }
  EXPECT_EQ(codes, (std::set<std::string>{"RESOURCE_ALREADY_EXISTS", "INFRASTRUCTURE_ERROR",
                                          "INSUFFICIENT_CAPACITY", "INTERNAL_ERROR"}));
  const YAML::Node result =
      document()["components"]["schemas"]["FindInfrastructureResponse"]["properties"]["result"];
  EXPECT_TRUE(result["nullable"].as<bool>());
}

TEST(InfrastructureOpenApiDocument, EveryReferenceResolves) {
  const YAML::Node doc = document();
  std::vector<std::string> missing;
  std::function<void(const YAML::Node&)> visit = [&](const YAML::Node& node) {
    if (node.IsMap()) {
      for (const auto& entry : node) {
        if (entry.first.as<std::string>() == "$ref") {
          const std::string ref = entry.second.as<std::string>();
          // '#/components/<kind>/<name>'
          const auto kind_end = ref.find('/', 13);
          const std::string kind = ref.substr(13, kind_end - 13);
          const std::string name = ref.substr(kind_end + 1);
          if (!doc["components"][kind][name]) missing.push_back(ref);
        } else {
          visit(entry.second);
        }
      }
    } else if (node.IsSequence()) {
      for (const auto& item : node) visit(item);
    }
  };
  visit(doc);
  EXPECT_TRUE(missing.empty()) << missing.front();
}

}  // namespace
}  // namespace flint::api
