#include "config/yaml_scalar.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace flint::config {
namespace {

// yaml-cpp's emitter leaves these plain although YAML 1.1 readers (and most
// people) read them as booleans, null or numbers.
bool ambiguous(const std::string& text) {
  std::string word(text);
  std::transform(word.begin(), word.end(), word.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* special : {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"}) {
    if (word == special) return true;
  }
  if (text.empty()) return false;  // the emitter quotes it already
  double number = 0;
  const auto* end = text.data() + text.size();
  const auto* begin = text.data() + (text.front() == '+' ? 1 : 0);
  const auto [ptr, ec] = std::from_chars(begin, end, number);
  return ec == std::errc{} && ptr == end;
}

}  // namespace

void emit_scalar(YAML::Emitter& out, const std::string& text) {
  if (ambiguous(text)) out << YAML::DoubleQuoted;
  out << text;
}

std::string yaml_scalar(const std::string& text) {
  YAML::Emitter out;
  emit_scalar(out, text);
  return out.c_str();
}

}  // namespace flint::config
