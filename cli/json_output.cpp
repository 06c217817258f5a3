#include "json_output.hpp"

#include <boost/json/serialize.hpp>

namespace flint::cli {
namespace {

void write(std::string& out, const boost::json::value& value, std::size_t depth) {
  const auto newline = [&](std::size_t level) {
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
      out += ": ";
      write(out, item, depth + 1);
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
      write(out, item, depth + 1);
    }
    newline(depth);
    out.push_back(']');
  } else {
    out += boost::json::serialize(value);
  }
}

}  // namespace

std::string pretty_json(const boost::json::value& value) {
  std::string out;
  write(out, value, 0);
  return out;
}

}  // namespace flint::cli
