#pragma once

/// @file
/// Directories whose entries survive a power loss.

#include <filesystem>
#include <system_error>

namespace flint::files {

/// Syncs `directory` itself, so that the names just created, renamed or
/// removed in it survive a power loss (syncing a file's content does not
/// make its name durable).
///
/// @return the system's error when the directory cannot be opened or synced;
///         none on a file system that cannot sync directories (EINVAL).
std::error_code sync_directory(const std::filesystem::path& directory) noexcept;

/// Creates `path` and each missing parent owner-only (0700, whatever the
/// umask), each new one synced into its parent (it survives a power loss);
/// one that exists keeps its mode.
/// @returns the error, or an empty code when the directory is there.
std::error_code create_private_directory(const std::filesystem::path& path);

}  // namespace flint::files
