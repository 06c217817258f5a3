#include "api/openapi_api.hpp"

#include <charconv>
#include <fstream>
#include <memory>
#include <sstream>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <flint/api/openapi_document.hpp>
#include <flint/api/swagger_ui_paths.hpp>
#include <flint/sdk/driver_files.hpp>
#include <flint/sdk/errors.hpp>

#include "http/error_response.hpp"

namespace flint::api {
namespace {

using boost::asio::awaitable;

// YAML 1.2 core schema for plain scalars; quoted scalars stay strings.
boost::json::value scalar_to_json(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() != "!") {
    if (text == "true") return true;
    if (text == "false") return false;
    if (text == "null" || text == "~" || text.empty()) return nullptr;
    std::int64_t integer = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), integer);
    if (ec == std::errc() && end == text.data() + text.size()) return integer;
    double real = 0;
    auto [rend, rec] = std::from_chars(text.data(), text.data() + text.size(), real);
    if (rec == std::errc() && rend == text.data() + text.size()) return real;
  }
  return boost::json::string(text);
}

boost::json::value yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      boost::json::object object;
      for (const auto& entry : node) object[entry.first.Scalar()] = yaml_to_json(entry.second);
      return object;
    }
    case YAML::NodeType::Sequence: {
      boost::json::array array;
      for (const auto& item : node) array.push_back(yaml_to_json(item));
      return array;
    }
    case YAML::NodeType::Scalar:
      return scalar_to_json(node);
    default:
      return nullptr;
  }
}

std::string_view content_type_of(const std::filesystem::path& file) {
  const std::string extension = file.extension().string();
  if (extension == ".html") return "text/html; charset=utf-8";
  if (extension == ".js") return "application/javascript; charset=utf-8";
  if (extension == ".css") return "text/css; charset=utf-8";
  if (extension == ".json" || extension == ".map") return "application/json";
  if (extension == ".png") return "image/png";
  return "application/octet-stream";
}

std::filesystem::path find_ui_dir(const std::filesystem::path& configured) {
  if (!configured.empty()) return configured;
  for (std::string_view candidate : {kSwaggerUiInstallDir, kSwaggerUiBuildDir}) {
    std::error_code ec;
    if (!candidate.empty() &&
        std::filesystem::is_regular_file(std::filesystem::path(candidate) / "index.html", ec)) {
      return candidate;
    }
  }
  return {};
}

}  // namespace

void add_openapi_routes(http::Router& router, const std::filesystem::path& ui_dir) {
  auto document = std::make_shared<const std::string>(
      boost::json::serialize(yaml_to_json(YAML::Load(std::string(openapi_yaml())))));
  router.add(
      http::Method::get, "/api/driver/openapi.json",
      [document](http::Request& request, http::RequestContext&) -> awaitable<http::Response> {
        co_return http::json_response(http::Status::ok, *document, request.version(),
                                      request.keep_alive());
      });

  router.add(http::Method::get, "/api/driver/ui",
             [](http::Request& request, http::RequestContext&) -> awaitable<http::Response> {
               http::Response response(http::Status::moved_permanently, request.version());
               response.set(http::beast_http::field::location, "/api/driver/ui/");
               response.keep_alive(request.keep_alive());
               response.prepare_payload();
               co_return response;
             });

  const std::filesystem::path dir = find_ui_dir(ui_dir);
  std::string missing;
  if (dir.empty()) {
    missing = kSwaggerUiMissingReason.empty()
                  ? std::string("Swagger UI files were not found (set api.swagger_ui_dir)")
                  : std::string(kSwaggerUiMissingReason);
  } else if (!std::filesystem::is_directory(dir)) {
    missing = fmt::format("api.swagger_ui_dir: {} is not a directory", dir.string());
  }
  const auto tree = missing.empty() ? sdk::DirectoryTree(dir) : sdk::DirectoryTree();
  router.add_prefix(http::Method::get, "/api/driver/ui/",
                    [tree, missing](http::Request& request,
                                    http::RequestContext& context) -> awaitable<http::Response> {
                      if (!missing.empty()) {
                        co_return http::error_response(http::Status::not_found, missing,
                                                       request.version(), request.keep_alive());
                      }
                      std::string_view relative =
                          context.path.substr(std::string_view("/api/driver/ui/").size());
                      if (relative.empty()) relative = "index.html";
                      if (!tree.has_file(relative)) {
                        co_return http::error_response(
                            http::Status::not_found, fmt::format("no such file: {}", context.path),
                            request.version(), request.keep_alive());
                      }
                      const auto file = tree.file(relative);
                      std::ifstream in(file, std::ios::binary);
                      std::ostringstream content;
                      content << in.rdbuf();
                      http::Response response(http::Status::ok, request.version());
                      response.set(http::beast_http::field::content_type, content_type_of(file));
                      response.set(http::beast_http::field::cache_control, "public, max-age=3600");
                      response.keep_alive(request.keep_alive());
                      response.body() = std::move(content).str();
                      response.prepare_payload();
                      co_return response;
                    });
}

}  // namespace flint::api
