#include "json_output.hpp"

#include <charconv>
#include <cmath>
#include <string_view>

#include <boost/json/serialize.hpp>

namespace flint::cli {
namespace {

// A number with a fraction or an exponent as people write it: the shortest
// text that reads back as the same double (0.25, 123456.789, 1e+21), with
// ".0" after a whole one so that it still reads as a float. Boost.JSON 1.81
// writes only 2.5E-1, 1.23456789E5 and 1E0.
void write_double(std::string& out, double number) {
  char text[32];
  const auto [end, error] = std::to_chars(text, text + sizeof text, number);
  if (!std::isfinite(number) || error != std::errc()) {
    out += boost::json::serialize(boost::json::value(number));  // what the server would send
    return;
  }
  const std::string_view written(text, static_cast<std::size_t>(end - text));
  out += written;
  if (written.find_first_of(".e") == std::string_view::npos) out += ".0";
}

void write(std::string& out, const boost::json::value& value, std::size_t depth, bool indent) {
  const auto newline = [&](std::size_t level) {
    if (!indent) return;
    out.push_back('\n');
    out.append(level * 2, ' ');
  };
  if (value.is_object() && !value.as_object().empty()) {
    out.push_back('{');
    bool first = true;
    for (const auto& [key, item] : value.as_object()) {
      if (!first) out.push_back(',');
      first = false;
      newline(depth + 1);
      out += boost::json::serialize(boost::json::value(boost::json::string(key)));
      out += indent ? ": " : ":";
      write(out, item, depth + 1, indent);
    }
    newline(depth);
    out.push_back('}');
  } else if (value.is_array() && !value.as_array().empty()) {
    out.push_back('[');
    bool first = true;
    for (const auto& item : value.as_array()) {
      if (!first) out.push_back(',');
      first = false;
      newline(depth + 1);
      write(out, item, depth + 1, indent);
    }
    newline(depth);
    out.push_back(']');
  } else if (value.is_double()) {
    write_double(out, value.get_double());
  } else {
    out += boost::json::serialize(value);
  }
}

}  // namespace

std::string pretty_json(const boost::json::value& value) {
  std::string out;
  write(out, value, 0, /*indent=*/true);
  return out;
}

std::string compact_json(const boost::json::value& value) {
  std::string out;
  write(out, value, 0, /*indent=*/false);
  return out;
}

}  // namespace flint::cli
