#include "script/script_result.hpp"

#include <algorithm>
#include <system_error>

#include <boost/json/parse.hpp>

#include <flint/sdk/errors.hpp>
#include <flint/sdk/json.hpp>

#include "logging/logging.hpp"

namespace flint::drivers::script {
namespace {

namespace bj = boost::json;

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

bool blank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// A malformed result file; the message names the field.
struct MalformedResult {
  std::string message;
};

[[noreturn]] void malformed(std::string_view field, std::string_view problem) {
  std::string message = "malformed result file: ";
  if (!field.empty()) message.append(field).append(": ");
  message += problem;
  throw MalformedResult{std::move(message)};
}

bj::object parse_object(const std::string& text) {
  boost::system::error_code ec;
  bj::value value = sdk::json::parse_stored(text, ec);
  if (ec) malformed({}, "not valid JSON (" + ec.message() + ")");
  auto* object = value.if_object();
  if (object == nullptr) malformed({}, "expected a JSON object");
  return std::move(*object);
}

// A misspelt field ("output") would otherwise vanish without a word, and
// the execution complete without what the script meant to report.
void refuse_unknown_fields(const bj::object& result,
                           std::initializer_list<std::string_view> known) {
  for (const auto& field : result) {
    if (std::find(known.begin(), known.end(), field.key()) != known.end()) continue;
    std::string expected;
    for (const auto name : known) expected.append(expected.empty() ? "" : ", ").append(name);
    malformed(sanitize_utf8(field.key()), "unknown field (expected " + expected + ")");
  }
}

bj::object outputs_of(const bj::object& result) {
  const auto* outputs = result.if_contains("outputs");
  if (outputs == nullptr || outputs->is_null()) return {};
  if (!outputs->is_object()) malformed("outputs", "expected an object");
  return outputs->get_object();
}

sdk::AssociatedTopology topology_of(const bj::object& result) {
  const auto* topology = result.if_contains("associatedTopology");
  if (topology == nullptr || topology->is_null()) return {};
  try {
    return sdk::json::decode_output_topology(*topology, "associatedTopology");
  } catch (const sdk::InvalidRequestError& error) {
    malformed({}, error.what());
  }
}

std::optional<std::string_view> string_field(const bj::object& result, std::string_view name) {
  const auto* field = result.if_contains(name);
  if (field == nullptr || field->is_null()) return std::nullopt;
  if (!field->is_string()) malformed(name, "expected a string");
  return std::string_view(field->get_string());
}

// Length of the valid UTF-8 sequence at `text[i]`, or 0 when invalid.
std::size_t utf8_sequence(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char min_second = 0x80, max_second = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) min_second = 0xA0;  // overlong
    if (lead == 0xED) max_second = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) min_second = 0x90;  // overlong
    if (lead == 0xF4) max_second = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < min_second || byte(i + 1) > max_second) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return length;
}

constexpr std::string_view kBegin = "-----BEGIN ";
constexpr std::string_view kEnd = "-----END ";
constexpr std::string_view kDashes = "-----";
// As logging::mask_private_keys: longer "labels" are not PEM markers.
constexpr std::size_t kMaxLabel = 64;
// Enough to hold a whole BEGIN marker, so one cut by a piece boundary is seen
// whole with the next piece.
constexpr std::size_t kKeep = kBegin.size() + kMaxLabel + kDashes.size();

}  // namespace

void PrivateKeyTracker::feed(std::string_view piece) {
  pending_.append(piece);
  const std::string_view text = pending_;
  std::size_t from = 0;
  std::size_t keep_from = std::string_view::npos;  // set when a marker is incomplete
  for (;;) {
    if (inside_) {
      // Anything from the END marker on is no longer secret.
      const auto end = text.find(kEnd, from);
      if (end == std::string_view::npos) break;
      inside_ = false;
      from = end + kEnd.size();
      continue;
    }
    const auto begin = text.find(kBegin, from);
    if (begin == std::string_view::npos) break;
    const auto label_at = begin + kBegin.size();
    const auto label_end = text.find(kDashes, label_at);
    if (label_end == std::string_view::npos || label_end - label_at > kMaxLabel) {
      // A label of kMaxLabel bytes may have up to four of its closing dashes
      // here and the rest in the next piece.
      if (label_end == std::string_view::npos &&
          text.size() - label_at < kMaxLabel + kDashes.size()) {
        keep_from = begin;  // the label may end in the next piece
        break;
      }
      from = label_at;
      continue;
    }
    inside_ =
        text.substr(label_at, label_end - label_at).find("PRIVATE KEY") != std::string_view::npos;
    from = label_end + kDashes.size();
  }
  if (keep_from == std::string_view::npos) {
    // What was scanned is settled; the last bytes may start a marker.
    keep_from = std::max(from, text.size() > kKeep ? text.size() - kKeep : 0);
  }
  pending_.erase(0, keep_from);
}

std::string PrivateKeyTracker::resume() const {
  return inside_ ? "-----BEGIN PRIVATE KEY-----" + pending_ : pending_;
}

std::string mask_private_keys(std::string_view before, std::string_view text) {
  std::string whole;
  if (!before.empty()) {
    whole.reserve(before.size() + text.size());
    whole.append(before).append(text);
    text = whole;
  }
  std::string masked;
  return std::string(logging::mask_private_keys(text, masked));
}

std::string sanitize_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8_sequence(text, i);
    if (length == 0) {
      out += kReplacement;
      ++i;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

std::string stderr_tail(std::string_view text, std::size_t max_bytes) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' ||
                           text.back() == '\t')) {
    text.remove_suffix(1);
  }
  bool cut = false;
  if (text.size() > max_bytes) {
    text.remove_prefix(text.size() - max_bytes);
    // Never start inside a multi-byte character.
    while (!text.empty() && (static_cast<unsigned char>(text.front()) & 0xC0) == 0x80) {
      text.remove_prefix(1);
    }
    cut = true;
  }
  std::string out = cut ? "..." : "";
  out += sanitize_utf8(text);
  return out;
}

sdk::LifecycleExecution lifecycle_result(std::string request_id, std::string_view lifecycle,
                                         int exit_code, const ResultFile& result_file,
                                         std::string_view stderr_text, std::size_t tail_bytes) {
  try {
    if (!result_file.problem.empty()) malformed({}, result_file.problem);
    bj::object result;
    const auto& content = result_file.content;
    if (content && !blank(*content)) result = parse_object(*content);
    refuse_unknown_fields(result,
                          {"outputs", "associatedTopology", "failureCode", "failureDescription"});
    bj::object outputs = outputs_of(result);
    sdk::AssociatedTopology topology = topology_of(result);
    if (exit_code == 0) {
      return sdk::LifecycleExecution::complete(std::move(request_id), std::move(outputs),
                                               std::move(topology));
    }
    auto code = sdk::FailureCode::internal_error;
    std::string description;
    if (auto text = string_field(result, "failureCode")) {
      if (auto parsed = sdk::parse_failure_code(*text)) {
        code = *parsed;
      } else {
        // Keep the script's intent visible rather than failing the parse.
        description = "unknown failureCode \"" + sanitize_utf8(*text) + "\"; ";
      }
    }
    if (auto text = string_field(result, "failureDescription"); text && !text->empty()) {
      // Masked as stderr is: a script may pass on what a tool printed.
      description += sanitize_utf8(mask_private_keys({}, *text));
    } else {
      description += "exit code " + std::to_string(exit_code);
      const std::string tail = stderr_tail(stderr_text, tail_bytes);
      description += tail.empty() ? std::string(" (nothing on stderr)") : ": " + tail;
    }
    return sdk::LifecycleExecution::failed(std::move(request_id), code, std::move(description),
                                           std::move(outputs), std::move(topology));
  } catch (const MalformedResult& error) {
    std::string description = "lifecycle " + std::string(lifecycle) + " (exit code " +
                              std::to_string(exit_code) + "): " + error.message;
    return sdk::LifecycleExecution::failed(std::move(request_id), sdk::FailureCode::internal_error,
                                           sanitize_utf8(description));
  }
}

std::optional<sdk::FoundReference> find_result(const ResultFile& result_file) {
  try {
    if (!result_file.problem.empty()) malformed({}, result_file.problem);
    const auto& text = result_file.content;
    if (!text || blank(*text)) return std::nullopt;
    const bj::object result = parse_object(*text);
    if (result.empty()) return std::nullopt;
    refuse_unknown_fields(result, {"resourceId", "outputs", "associatedTopology"});
    sdk::FoundReference found;
    const auto id = string_field(result, "resourceId");
    if (!id || id->empty()) malformed("resourceId", "required (a non-empty string)");
    found.resource_id = std::string(*id);
    found.outputs = outputs_of(result);
    found.associated_topology = topology_of(result);
    return found;
  } catch (const MalformedResult& error) {
    throw sdk::ResourceDriverError("Find script: " + sanitize_utf8(error.message));
  }
}

}  // namespace flint::drivers::script
