#pragma once

/// @file
/// `flint new-driver`: scaffolds a driver project from examples/driver-template.
///
/// The files of examples/driver-template are embedded in the binary at build
/// time (cli/embed_files.cmake). The example is the project of a resource
/// driver named `template`, and its text is written so that renaming it is a
/// plain substitution, applied to file contents and paths alike:
///   - every `template` is the driver name (strings, CMake names, file names:
///     `flint-driver-template.so`, `src/template_driver.cpp`);
///   - every `Template` is the driver name in CamelCase, for C++ identifiers
///     (`TemplateDriver`).
/// Both are case-sensitive and replaced in one pass. The example therefore
/// uses neither word for anything else (not even the C++ keyword), and never
/// the driver name in a C++ identifier of another form.

#include <iosfwd>
#include <span>
#include <string>
#include <string_view>

namespace CLI {
class App;
}

namespace flint::cli {

/// Options of `flint new-driver`.
struct NewDriverOptions {
  /// The new driver's name (`flint::sdk::is_valid_driver_name`).
  std::string name;
  /// The contract it serves; only `resource` can be scaffolded.
  std::string kind;
  /// Directory to create; empty means `./<name>`.
  std::string output;
};

/// Adds the `new-driver` subcommand to `app`, parsing into `options` (which
/// must outlive the parse). Returns the subcommand.
CLI::App* add_new_driver_command(CLI::App& app, NewDriverOptions& options);

/// Runs `flint new-driver`: writes the project into `options.output` (created
/// if needed; an existing directory must be empty) and lists its files on
/// `out`, errors on `err`. Returns 0 on success, 2 for an invalid name or
/// kind, an output that exists and is not an empty directory, or a write
/// failure (which removes what was written).
int run_new_driver_command(const NewDriverOptions& options, std::ostream& out, std::ostream& err);

/// One file of a project embedded in the binary.
struct EmbeddedFile {
  /// Path relative to the project's root, with `/` separators.
  std::string_view path;
  /// The file's bytes.
  std::string_view content;
};

/// The files of examples/driver-template, sorted by path. Generated at build
/// time; local build directories (`build*/` at its root) are left out.
std::span<const EmbeddedFile> driver_template_files() noexcept;

/// The driver name of examples/driver-template.
inline constexpr std::string_view kTemplateDriverName = "template";
/// Its CamelCase form, `driver_class_name(kTemplateDriverName)`.
inline constexpr std::string_view kTemplateClassName = "Template";

/// The CamelCase form of a valid driver name, for C++ identifiers: each part
/// between `-` and `_` capitalised and joined (`acme-box_2` -> `AcmeBox2`),
/// prefixed by `Driver` when it would start with a digit (`3par` ->
/// `Driver3par`).
std::string driver_class_name(std::string_view name);

/// `text` with every `template` replaced by `name` and every `Template` by
/// `driver_class_name(name)`; a line aligned with a parenthesis that the
/// replacement moved moves with it.
std::string substitute_driver_name(std::string_view text, std::string_view name);

}  // namespace flint::cli
