#pragma once

/// @file
/// The lifecycle scripts a driver package offers: `scripts/<Name>.sh` files,
/// or the commands of `scripts/manifest.json`.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <flint/sdk/driver_files.hpp>

namespace flint::drivers::script {

/// One runnable command of a package.
struct ScriptCommand {
  /// The argument vector: package files are absolute paths; `argv[0]` is an
  /// absolute path or a program name looked up in `PATH`.
  std::vector<std::string> argv;
  /// Timeout set by the manifest (`timeoutSeconds`), if any.
  std::optional<std::chrono::seconds> timeout;
  /// Where the command comes from, for messages (`scripts/Create.sh` or
  /// `scripts/manifest.json lifecycles.Create`).
  std::string origin;
};

/// The lifecycles (and the optional Find command) of one package.
///
/// Without `scripts/manifest.json`, every `scripts/<Name>.sh` file defines
/// lifecycle `<Name>` (run as `<shell> <absolute path>`, since extracted
/// packages hold read-only files without the exec bit) and `scripts/Find.sh`
/// defines Find. With a manifest, only what the manifest lists exists.
/// Built per request (packages differ), immutable afterwards, so const
/// methods are thread-safe.
class ScriptCatalog {
 public:
  /// Path of the manifest inside a package.
  static constexpr std::string_view kManifestPath = "scripts/manifest.json";

  /// Reads and validates the package.
  /// @param files the package root (`scripts/` sits directly below it).
  /// @param shell absolute path of the shell that runs `.sh` files.
  /// @throws sdk::InvalidDriverFilesError naming the manifest field and the
  ///         problem when the manifest is invalid; sdk::TemporaryHostError
  ///         naming the path and the system error when `scripts/` cannot be
  ///         listed or the manifest cannot be read (out of descriptors, an
  ///         I/O error: the host's trouble, not the package's).
  ScriptCatalog(const sdk::DirectoryTree& files, std::string shell);

  /// True when the package has a manifest.
  bool has_manifest() const noexcept { return has_manifest_; }

  /// The command of lifecycle `name`: an exact match; without a manifest also
  /// a unique case-insensitive match of the `.sh` file name.
  /// @throws sdk::InvalidLifecycleNameError listing the lifecycles available
  ///         when there is none (or, without a manifest, several
  ///         case-insensitive matches and no exact one).
  const ScriptCommand& lifecycle(std::string_view name) const;

  /// The Find command, or nullopt when the package has none.
  const std::optional<ScriptCommand>& find() const noexcept { return find_; }

  /// Names of the lifecycles available, sorted.
  std::vector<std::string> lifecycle_names() const;

 private:
  void load_scripts(const sdk::DirectoryTree& files);
  void load_manifest(const sdk::DirectoryTree& files);

  std::string shell_;
  bool has_manifest_ = false;
  std::vector<std::pair<std::string, ScriptCommand>> lifecycles_;  // sorted by name
  std::optional<ScriptCommand> find_;
};

}  // namespace flint::drivers::script
