#include "script/script_catalog.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <initializer_list>
#include <system_error>

#include <boost/json/parse.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <flint/sdk/errors.hpp>

namespace flint::drivers::script {
namespace {

namespace bj = boost::json;
namespace fs = std::filesystem;

constexpr std::string_view kScriptsDir = "scripts";
constexpr std::string_view kFindName = "Find";
// A day is far more than any lifecycle should take; bounding it keeps the
// deadline arithmetic away from overflow.
constexpr std::int64_t kMaxTimeoutSeconds = 7 * 24 * 3600;

[[noreturn]] void bad_manifest(std::string_view field, std::string_view problem) {
  std::string message(ScriptCatalog::kManifestPath);
  message += ": ";
  if (!field.empty()) message.append(field).append(": ");
  message += problem;
  throw sdk::InvalidDriverFilesError(std::move(message));
}

// The package was checked when it was unpacked: failing to read it now (out
// of descriptors, an I/O error) is the host's trouble, to retry, not a bad
// package.
[[noreturn]] void unreadable(const fs::path& path, std::string_view what, std::error_code error) {
  throw sdk::TemporaryHostError("script driver: cannot " + std::string(what) + " " + path.string() +
                                ": " + error.message());
}

std::error_code last_error() {
  return {errno, std::generic_category()};
}

// The whole content of `path`.
std::string read_file(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) unreadable(path, "read", last_error());
  std::string content;
  char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const auto error = last_error();
      ::close(fd);
      unreadable(path, "read", error);
    }
    if (n == 0) break;
    content.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return content;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return lower(a) == lower(b);
}

std::string script_path(std::string_view name) {
  std::string path(kScriptsDir);
  path.append("/").append(name).append(".sh");
  return path;
}

void require_known_fields(const bj::object& object, std::string_view path,
                          std::initializer_list<std::string_view> known) {
  for (const auto& field : object) {
    if (std::find(known.begin(), known.end(), field.key()) == known.end()) {
      std::string where(path);
      if (!where.empty()) where += '.';
      where += field.key();
      bad_manifest(where, "unknown field");
    }
  }
}

}  // namespace

ScriptCatalog::ScriptCatalog(const sdk::DirectoryTree& files, std::string shell)
    : shell_(std::move(shell)) {
  if (files.has_file(kManifestPath)) {
    has_manifest_ = true;
    load_manifest(files);
  } else {
    load_scripts(files);
  }
  std::sort(lifecycles_.begin(), lifecycles_.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
}

void ScriptCatalog::load_scripts(const sdk::DirectoryTree& files) {
  if (!files.has_directory(kScriptsDir)) return;
  std::error_code ec;
  const fs::path dir = files.file(kScriptsDir);
  // An error ends the loop with `ec` set: the list would be partial.
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& entry = it->path();
    if (entry.extension() != ".sh") continue;
    const std::string name = entry.stem().string();
    const std::string relative = script_path(name);
    // has_file refuses symbolic links leading out of the package.
    if (name.empty() || !files.has_file(relative)) continue;
    ScriptCommand command{{shell_, files.file(relative).string()}, std::nullopt, relative};
    // Lifecycle names match in any case: a find.sh that ran as a lifecycle
    // named "find" while find_reference said "not found" would surprise.
    if (iequals(name, kFindName)) {
      if (!find_ || name == kFindName) find_ = std::move(command);  // Find.sh first
    } else {
      lifecycles_.emplace_back(name, std::move(command));
    }
  }
  if (ec) unreadable(dir, "list", ec);
}

void ScriptCatalog::load_manifest(const sdk::DirectoryTree& files) {
  const std::string text = read_file(files.file(kManifestPath));
  std::error_code ec;
  const bj::value root = bj::parse(text, ec);
  if (ec) bad_manifest({}, "not valid JSON (" + ec.message() + ")");
  const auto* object = root.if_object();
  if (object == nullptr) bad_manifest({}, "expected a JSON object");
  require_known_fields(*object, {}, {"lifecycles", "find", "description"});

  // Parses one entry (`{"command": [...], "timeoutSeconds": n}`) of `path`;
  // `default_script` is the .sh file used when there is no command.
  auto parse_entry = [&](const bj::value& value, const std::string& path,
                         std::string_view default_name) {
    const auto* entry = value.if_object();
    if (entry == nullptr) bad_manifest(path, "expected an object");
    require_known_fields(*entry, path, {"command", "timeoutSeconds", "description"});
    ScriptCommand command;
    command.origin = std::string(kManifestPath) + " " + path;
    if (const auto* timeout = entry->if_contains("timeoutSeconds")) {
      const auto seconds = timeout->is_int64() ? timeout->get_int64()
                           : timeout->is_uint64()
                               ? static_cast<std::int64_t>(std::min<std::uint64_t>(
                                     timeout->get_uint64(), kMaxTimeoutSeconds + 1))
                               : -1;
      if (seconds <= 0 || seconds > kMaxTimeoutSeconds) {
        bad_manifest(path + ".timeoutSeconds",
                     "expected an integer from 1 to " + std::to_string(kMaxTimeoutSeconds));
      }
      command.timeout = std::chrono::seconds(seconds);
    }
    const auto* argv = entry->if_contains("command");
    if (argv == nullptr || argv->is_null()) {
      const std::string relative = script_path(default_name);
      if (!files.has_file(relative)) {
        bad_manifest(path, "no \"command\" and no " + relative + " to run by default");
      }
      command.argv = {shell_, files.file(relative).string()};
      return command;
    }
    const auto* array = argv->if_array();
    if (array == nullptr || array->empty()) {
      bad_manifest(path + ".command", "expected a non-empty array of strings (an argv)");
    }
    for (std::size_t i = 0; i < array->size(); ++i) {
      const std::string where = path + ".command[" + std::to_string(i) + "]";
      const auto* arg = (*array)[i].if_string();
      if (arg == nullptr) bad_manifest(where, "expected a string");
      const std::string_view item = *arg;
      if (item.find('\0') != std::string_view::npos) bad_manifest(where, "contains a NUL byte");
      // Package paths are relative to scripts/, where the manifest lives.
      const bool relative = !item.empty() && item.front() != '/';
      const std::string in_package = std::string(kScriptsDir) + "/" + std::string(item);
      if (i == 0) {
        if (item.empty()) bad_manifest(where, "empty program name");
        if (relative && (files.has_file(in_package) || item.find('/') != std::string_view::npos)) {
          bad_manifest(where,
                       "package files cannot be run directly (they are extracted read-only "
                       "without the exec bit); name an interpreter first, e.g. [\"/bin/sh\", \"" +
                           std::string(item) + "\"]");
        }
        command.argv.emplace_back(item);
      } else if (relative && item.front() != '-' && files.has_file(in_package)) {
        command.argv.push_back(files.file(in_package).string());
      } else {
        command.argv.emplace_back(item);
      }
    }
    return command;
  };

  if (const auto* lifecycles = object->if_contains("lifecycles")) {
    const auto* map = lifecycles->if_object();
    if (map == nullptr) bad_manifest("lifecycles", "expected an object of name -> entry");
    for (const auto& field : *map) {
      const std::string name(field.key());
      if (name.empty()) bad_manifest("lifecycles", "empty lifecycle name");
      lifecycles_.emplace_back(name, parse_entry(field.value(), "lifecycles." + name, name));
    }
  }
  if (const auto* find = object->if_contains("find"); find && !find->is_null()) {
    find_ = parse_entry(*find, "find", kFindName);
  }
}

const ScriptCommand& ScriptCatalog::lifecycle(std::string_view name) const {
  const auto exact = std::find_if(lifecycles_.begin(), lifecycles_.end(),
                                  [&](const auto& entry) { return entry.first == name; });
  if (exact != lifecycles_.end()) return exact->second;

  std::vector<const std::pair<std::string, ScriptCommand>*> matches;
  if (!has_manifest_) {
    for (const auto& entry : lifecycles_) {
      if (iequals(entry.first, name)) matches.push_back(&entry);
    }
    if (matches.size() == 1) return matches.front()->second;
  }

  std::string message = "invalid lifecycle name \"" + std::string(name) + "\": ";
  if (matches.size() > 1) {
    message += "it matches several scripts ignoring case (";
    for (std::size_t i = 0; i < matches.size(); ++i) {
      if (i > 0) message += ", ";
      message += script_path(matches[i]->first);
    }
    message += ") and none exactly";
    throw sdk::InvalidLifecycleNameError(std::move(message));
  }
  message += "the driver files define ";
  if (lifecycles_.empty()) {
    message += has_manifest_ ? "no lifecycle (scripts/manifest.json lists none)"
                             : "no lifecycle (no scripts/<Name>.sh file)";
  } else {
    for (std::size_t i = 0; i < lifecycles_.size(); ++i) {
      if (i > 0) message += ", ";
      message += lifecycles_[i].first;
    }
    message += has_manifest_ ? " (in scripts/manifest.json)" : " (scripts/<Name>.sh)";
  }
  throw sdk::InvalidLifecycleNameError(std::move(message));
}

std::vector<std::string> ScriptCatalog::lifecycle_names() const {
  std::vector<std::string> names;
  names.reserve(lifecycles_.size());
  for (const auto& entry : lifecycles_) names.push_back(entry.first);
  return names;
}

}  // namespace flint::drivers::script
