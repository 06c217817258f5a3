#include "api/query_params.hpp"

#include <algorithm>
#include <charconv>

#include <boost/url/parse.hpp>
#include <fmt/format.h>

#include "api/api_error.hpp"

namespace flint::api {

QueryParams known_query_params(std::string_view target,
                               std::initializer_list<std::string_view> known) {
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) {
    throw ApiError(http::Status::bad_request, "request target: not a valid path and query");
  }
  QueryParams params;
  for (const auto param : parsed->params()) {
    if (std::find(known.begin(), known.end(), std::string_view(param.key)) == known.end()) {
      continue;
    }
    if (!params.emplace(param.key, param.value).second) {
      throw ApiError(http::Status::bad_request,
                     fmt::format("{}: given more than once", std::string_view(param.key)));
    }
  }
  return params;
}

const std::string* query_param(const QueryParams& params, std::string_view name) {
  const auto it = params.find(name);
  return it == params.end() ? nullptr : &it->second;
}

std::int64_t parse_query_integer(std::string_view name, std::string_view text, std::int64_t min,
                                 std::int64_t max, std::string_view expected) {
  std::int64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  // from_chars takes a leading '-', never '+' or spaces; bounds catch '-'.
  if (text.empty() || ec != std::errc() || ptr != end || value < min || value > max) {
    throw ApiError(http::Status::bad_request, fmt::format("{}: expected {}", name, expected));
  }
  return value;
}

}  // namespace flint::api
