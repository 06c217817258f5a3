#include <algorithm>
#include <system_error>

#include <flint/sdk/driver_files.hpp>
#include <flint/sdk/errors.hpp>

namespace flint::sdk {
namespace fs = std::filesystem;

namespace {

// Drops a trailing separator so that prefix comparisons see no empty last
// component ("/tmp/x/" and "/tmp/x" are the same root).
fs::path without_trailing_separator(fs::path path) {
  if (!path.empty() && !path.has_filename() && path.has_relative_path()) {
    path = path.parent_path();
  }
  return path;
}

bool is_within(const fs::path& root, const fs::path& candidate) {
  auto root_it = root.begin();
  auto candidate_it = candidate.begin();
  for (; root_it != root.end(); ++root_it, ++candidate_it) {
    if (root_it->empty()) continue;
    if (candidate_it == candidate.end() || *candidate_it != *root_it) return false;
  }
  return true;
}

// Quotes a caller-supplied path for an error message; control characters are
// escaped so that the message stays one line and a NUL cannot cut it short.
std::string quoted(std::string_view relative) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(relative.size() + 24);
  out += "driver files path \"";
  for (const char c : relative) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

}  // namespace

DirectoryTree::DirectoryTree(fs::path root, std::shared_ptr<const void> keep_alive)
    : keep_alive_(std::move(keep_alive)) {
  if (root.empty()) return;
  std::error_code ec;
  fs::path absolute = fs::absolute(root, ec);
  if (ec) absolute = std::move(root);
  root_ = without_trailing_separator(absolute.lexically_normal());
  fs::path canonical = fs::weakly_canonical(root_, ec);
  canonical_root_ = ec ? root_ : without_trailing_separator(std::move(canonical));
}

fs::path DirectoryTree::file(std::string_view relative) const {
  if (!valid()) throw InvalidDriverFilesError(quoted(relative) + ": no driver files directory");
  if (relative.find('\0') != std::string_view::npos) {
    throw InvalidDriverFilesError(quoted(relative) + ": contains a NUL character");
  }
  if (!relative.empty() && relative.front() == '/') {
    throw InvalidDriverFilesError(quoted(relative) + ": absolute paths are not allowed");
  }

  // Lexical normalisation first: it catches `..` escapes without touching
  // the disk, and gives the path the caller will see.
  fs::path normal;
  std::size_t depth = 0;
  std::size_t start = 0;
  while (start <= relative.size()) {
    std::size_t end = relative.find('/', start);
    if (end == std::string_view::npos) end = relative.size();
    const std::string_view part = relative.substr(start, end - start);
    start = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (depth == 0) {
        throw InvalidDriverFilesError(quoted(relative) + ": escapes the driver files directory");
      }
      normal = normal.parent_path();
      --depth;
      continue;
    }
    normal /= part;
    ++depth;
  }
  fs::path candidate = depth == 0 ? root_ : root_ / normal;

  // Then the symbolic links: the lexical check cannot see them.
  std::error_code ec;
  const fs::path resolved = fs::weakly_canonical(candidate, ec);
  if (ec) {
    throw InvalidDriverFilesError(quoted(relative) + ": cannot be resolved: " + ec.message());
  }
  if (!is_within(canonical_root_, resolved)) {
    throw InvalidDriverFilesError(quoted(relative) +
                                  ": a symbolic link leads outside the driver files directory");
  }
  return candidate;
}

bool DirectoryTree::has_file(std::string_view relative) const noexcept {
  try {
    std::error_code ec;
    return fs::is_regular_file(file(relative), ec);
  } catch (...) {
    return false;
  }
}

bool DirectoryTree::has_directory(std::string_view relative) const noexcept {
  try {
    std::error_code ec;
    return fs::is_directory(file(relative), ec);
  } catch (...) {
    return false;
  }
}

DirectoryTree DirectoryTree::subtree(std::string_view relative) const {
  fs::path directory = file(relative);
  std::error_code ec;
  if (!fs::is_directory(directory, ec)) {
    throw InvalidDriverFilesError(quoted(relative) + ": not a directory");
  }
  return DirectoryTree(std::move(directory), keep_alive_);
}

}  // namespace flint::sdk
