#pragma once

/// @file
/// Packs a driver-files directory into the ZIP archive sent as `driverFiles`.

#include <filesystem>
#include <stdexcept>
#include <string>

namespace flint::cli {

/// The directory cannot be packed. `what()` names the path and the problem.
class ZipError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Returns a ZIP archive (deflated, in memory) of everything under `root`,
/// with names relative to `root` (`scripts/Create.sh`), directories included.
///
/// The archive is deterministic: entries sorted by name, a fixed timestamp,
/// owner 0, modes normalised to 0644/0755 (0755 when any execute bit is set),
/// so the same tree always yields the same bytes and the server's package
/// cache recognises it. Symbolic links to files are stored as the file they
/// point to.
///
/// @throws ZipError when `root` is not a directory, holds no file, or holds
///   something other than files and directories (a FIFO, a socket, a device,
///   a link to a directory or a dangling link), or on a read error.
std::string zip_directory(const std::filesystem::path& root);

}  // namespace flint::cli
