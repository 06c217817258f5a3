#pragma once

/// @file
/// Removal of extracted packages, whose directories are read-only (0555).

#include <filesystem>
#include <system_error>

namespace flint::files {

/// Removes `path` and everything below it, first giving its directories back
/// the owner's write permission (an extracted package is 0555 / 0444, and
/// unlinking needs write permission on the parent directory). Symbolic links
/// are removed, never followed. A missing `path` is not an error.
///
/// @throws std::filesystem::filesystem_error naming the path on failure.
void remove_read_only_tree(const std::filesystem::path& path);

/// As above, reporting failure through `error` instead of throwing.
/// @return true when nothing is left at `path`.
bool remove_read_only_tree(const std::filesystem::path& path, std::error_code& error) noexcept;

}  // namespace flint::files
