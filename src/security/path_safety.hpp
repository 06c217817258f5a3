#pragma once

/// @file
/// Whether a user other than root and Flint's own could change a path: swap
/// a file Flint runs or trusts, or a folder on the way to it.

#include <filesystem>
#include <string>

namespace flint::security {

/// Why another user could change `path` itself, or an empty string: group or
/// others may write to it (allowed for a sticky folder such as /tmp unless
/// `strict`: others may add to it but not replace what is not theirs), or it
/// belongs to a user other than root and this process's. A path that cannot
/// be read is no problem here: its user says why.
std::string changeable_by_others(const std::filesystem::path& path, bool strict);

/// Why another user could replace `path` by changing a folder on its way
/// (every one from its parent to `/`, both of the path as given and of the
/// path with links followed, as sshd's StrictModes does), or an empty string.
std::string folders_above_changeable(const std::filesystem::path& path);

/// `changeable_by_others(path, strict: true)`, then `folders_above_changeable`.
std::string others_may_change(const std::filesystem::path& path);

}  // namespace flint::security
