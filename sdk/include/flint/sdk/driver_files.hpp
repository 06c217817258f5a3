#pragma once

/// @file
/// The driver files of a request, unpacked, as a read-only directory tree.

#include <filesystem>
#include <memory>
#include <string_view>

namespace flint::sdk {

/// A directory of driver files that refuses any path escaping its root.
///
/// The host unpacks each distinct package once and shares it read-only
/// between requests: never write into it (copy what you need to change).
/// The files stay on disk at least as long as a copy of this object exists,
/// so a driver that works asynchronously keeps a copy for as long as it reads
/// them. A value-type: cheap to copy; const methods are thread-safe.
///
/// Relative paths use `/` and are normalised lexically (`a/./b/../c` is
/// `a/c`); absolute paths, a NUL, `..` components that climb above the root
/// and symbolic links that lead outside the root raise
/// `InvalidDriverFilesError`.
class DirectoryTree {
 public:
  /// A tree with no files: every lookup fails, `valid()` is false.
  DirectoryTree() = default;
  /// A tree rooted at `root` (made absolute; an empty path gives an invalid
  /// tree). `keep_alive` is held for the lifetime of every copy (the host
  /// uses it to keep a cached package on disk). Does not throw for a missing
  /// root: lookups then simply find nothing.
  explicit DirectoryTree(std::filesystem::path root, std::shared_ptr<const void> keep_alive = {});
  /// A copy of `tree` that holds `keep_alive` in place of `tree`'s own. It
  /// skips the file-system lookups of resolving the root again, for a host
  /// that hands out one cached tree to many requests.
  DirectoryTree(const DirectoryTree& tree, std::shared_ptr<const void> keep_alive)
      : root_(tree.root_),
        canonical_root_(tree.canonical_root_),
        keep_alive_(std::move(keep_alive)) {}

  /// True when this tree has a root directory.
  bool valid() const noexcept { return !root_.empty(); }
  /// Absolute path of the root directory.
  const std::filesystem::path& path() const noexcept { return root_; }

  /// Absolute path of `relative` inside the tree (it need not exist).
  /// @throws InvalidDriverFilesError if the tree is invalid, or the path holds
  ///         a NUL, is absolute, escapes the root, or cannot be resolved (no
  ///         permission, a loop of links...).
  std::filesystem::path file(std::string_view relative) const;
  /// True when `relative` names a regular file inside the tree.
  /// A path escaping the root is reported as absent.
  bool has_file(std::string_view relative) const noexcept;
  /// True when `relative` names a directory inside the tree.
  bool has_directory(std::string_view relative) const noexcept;
  /// The sub-directory `relative` as a tree of its own (sharing this tree's
  /// lifetime).
  /// @throws InvalidDriverFilesError if it escapes the root or is not a
  /// directory.
  DirectoryTree subtree(std::string_view relative) const;

 private:
  std::filesystem::path root_;
  // The root with symbolic links resolved, computed once: every lookup
  // compares against it to refuse links that lead outside.
  std::filesystem::path canonical_root_;
  std::shared_ptr<const void> keep_alive_;
};

}  // namespace flint::sdk
