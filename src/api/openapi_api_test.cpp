#include "api/openapi_api.hpp"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

namespace flint::api {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;

class OpenApiRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ui_dir_ = fs::temp_directory_path() / ("flint-openapi-ui-" + std::to_string(::getpid()));
    fs::create_directories(ui_dir_);
    std::ofstream(ui_dir_ / "index.html") << "<html>swagger</html>";
    // What swagger-ui-dist ships: the Petstore demo.
    std::ofstream(ui_dir_ / "swagger-initializer.js") << "petstore";
  }
  void TearDown() override { fs::remove_all(ui_dir_); }

  http::Response get(const std::string& path) {
    http::Request request(http::Method::get, path, 11);
    auto context = http::RequestContext::from(request);
    const auto match = router_.find(http::Method::get, path);
    if (match.handler == nullptr) return http::Response(http::Status::not_found, 11);
    context.route = match.route;
    context.path = path;
    asio::io_context io;
    auto future = asio::co_spawn(io, (*match.handler)(request, context), asio::use_future);
    io.run();
    return future.get();
  }

  fs::path ui_dir_;
  http::Router router_;
};

// What a validator (swagger-parser, openapi-generator) would refuse, and a
// hand-written YAML document easily gets: a null where a schema or value
// belongs (a comma in an unquoted flow-mapping text makes a key with a null
// value), a $ref to nothing, a required property that is not declared.
void lint(const boost::json::value& node, const boost::json::value& document,
          const std::string& where, std::vector<std::string>& problems) {
  if (node.is_null() && where.find("/example") == std::string::npos) {
    problems.push_back(where + ": null");
  }
  if (node.is_array()) {
    for (std::size_t i = 0; i < node.as_array().size(); ++i) {
      lint(node.as_array()[i], document, where + "/" + std::to_string(i), problems);
    }
  }
  if (!node.is_object()) return;
  const auto& object = node.as_object();
  if (const auto* ref = object.if_contains("$ref")) {
    const std::string target(ref->as_string());
    boost::system::error_code ec;
    const auto* resolved =
        target.starts_with("#/") ? document.find_pointer(target.substr(1), ec) : nullptr;
    if (resolved == nullptr)
      problems.push_back(where + ": $ref " + target + " resolves to nothing");
  }
  if (const auto* required = object.if_contains("required"); required && required->is_array()) {
    const auto* properties = object.if_contains("properties");
    for (const auto& name : required->as_array()) {
      if (properties == nullptr || !properties->as_object().contains(name.as_string())) {
        problems.push_back(where + ": required " + std::string(name.as_string()) +
                           " is not among its properties");
      }
    }
  }
  for (const auto& [key, value] : object) {
    lint(value, document, where + "/" + std::string(key), problems);
  }
}

TEST_F(OpenApiRoutesTest, BothDocumentsHaveNoNullsDanglingRefsOrUndeclaredRequiredFields) {
  add_openapi_routes(router_, ui_dir_);
  add_infrastructure_openapi_routes(router_, ui_dir_);
  for (const char* path : {"/api/driver/openapi.json", "/api/infrastructure/openapi.json"}) {
    const auto document = boost::json::parse(get(path).body());
    std::vector<std::string> problems;
    lint(document, document, "", problems);
    EXPECT_TRUE(problems.empty()) << path << ":\n" << ::testing::PrintToString(problems);
  }
}

TEST_F(OpenApiRoutesTest, ServesEachApiItsOwnDocument) {
  add_openapi_routes(router_, ui_dir_);
  add_infrastructure_openapi_routes(router_, ui_dir_);

  const auto driver = get("/api/driver/openapi.json");
  ASSERT_EQ(driver.result(), http::Status::ok);
  EXPECT_EQ(driver[http::beast_http::field::content_type], "application/json");
  const auto driver_doc = boost::json::parse(driver.body());
  EXPECT_TRUE(driver_doc.at("paths").as_object().contains("/api/driver/lifecycle/execute"));

  const auto infrastructure = get("/api/infrastructure/openapi.json");
  ASSERT_EQ(infrastructure.result(), http::Status::ok);
  const auto doc = boost::json::parse(infrastructure.body());
  EXPECT_EQ(doc.at("openapi"), "3.0.3");
  for (const char* path : {"/api/infrastructure/create", "/api/infrastructure/delete",
                           "/api/infrastructure/query", "/api/infrastructure/find"}) {
    EXPECT_TRUE(doc.at("paths").as_object().contains(path)) << path;
  }
  // Quoted status codes stay strings; booleans are typed.
  EXPECT_TRUE(doc.at("paths")
                  .at("/api/infrastructure/create")
                  .at("post")
                  .at("responses")
                  .as_object()
                  .contains("202"));
  EXPECT_EQ(doc.at("components")
                .at("schemas")
                .at("FindInfrastructureResponse")
                .at("properties")
                .at("result")
                .at("nullable"),
            true);
}

TEST_F(OpenApiRoutesTest, EachSwaggerUiLoadsItsApisDocument) {
  add_openapi_routes(router_, ui_dir_);
  add_infrastructure_openapi_routes(router_, ui_dir_);

  for (const std::string base : {"/api/driver", "/api/infrastructure"}) {
    const auto redirect = get(base + "/ui");
    EXPECT_EQ(redirect.result(), http::Status::moved_permanently) << base;
    EXPECT_EQ(redirect[http::beast_http::field::location], base + "/ui/");

    const auto index = get(base + "/ui/");
    EXPECT_EQ(index.result(), http::Status::ok) << base;
    EXPECT_EQ(index.body(), "<html>swagger</html>");
    EXPECT_EQ(index[http::beast_http::field::content_type], "text/html; charset=utf-8");

    const auto initializer = get(base + "/ui/swagger-initializer.js");
    EXPECT_EQ(initializer.result(), http::Status::ok) << base;
    EXPECT_EQ(initializer[http::beast_http::field::content_type],
              "application/javascript; charset=utf-8");
    EXPECT_NE(initializer.body().find("url: \"" + base + "/openapi.json\""), std::string::npos)
        << initializer.body();

    EXPECT_EQ(get(base + "/ui/missing.js").result(), http::Status::not_found);
  }
}

TEST_F(OpenApiRoutesTest, WithoutUiFilesTheUiExplainsWhy) {
  add_openapi_routes(router_, "/api/x", "openapi: 3.0.3\npaths: {}\n", ui_dir_ / "nowhere");
  EXPECT_EQ(get("/api/x/openapi.json").body(), R"({"openapi":"3.0.3","paths":{}})");
  const auto ui = get("/api/x/ui/");
  EXPECT_EQ(ui.result(), http::Status::not_found);
  EXPECT_NE(ui.body().find("is not a directory"), std::string::npos) << ui.body();
}

}  // namespace
}  // namespace flint::api
