#include "new_driver_command.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <stdexcept>
#include <system_error>
#include <vector>

#include <CLI/CLI.hpp>

#include <flint/sdk/driver_plugin.hpp>

#include "exit_status.hpp"

namespace flint::cli {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kNameRule =
    "a driver name has 1 to 64 characters: lower-case letters, digits, '_' and '-', starting "
    "with a letter or a digit";

char upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

// Throws unless `kind` is one a project can be scaffolded for.
void check_kind(std::string_view kind) {
  if (kind == sdk::to_string(sdk::DriverKind::resource)) return;
  if (kind == sdk::to_string(sdk::DriverKind::infrastructure)) {
    throw std::invalid_argument(
        "cannot scaffold infrastructure drivers: the scaffold has a template for resource "
        "drivers only (write an infrastructure driver as docs/driver-guide.md shows; --kind "
        "resource)");
  }
  for (const auto reserved :
       {sdk::DriverKind::storage, sdk::DriverKind::amphora, sdk::DriverKind::handler}) {
    if (kind == sdk::to_string(reserved)) {
      throw std::invalid_argument("cannot scaffold " + std::string(kind) +
                                  " drivers: Flint cannot host them yet (--kind resource)");
    }
  }
  throw std::invalid_argument("unknown driver kind '" + std::string(kind) +
                              "': the scaffold makes resource drivers (--kind resource)");
}

// Throws unless `output` is absent or an empty directory; returns whether it exists.
bool check_output(const fs::path& output) {
  std::error_code ec;
  const fs::file_status status = fs::symlink_status(output, ec);
  if (!fs::exists(status)) return false;
  if (!fs::is_directory(fs::status(output, ec))) {
    throw std::invalid_argument(output.string() + " exists and is not a directory");
  }
  if (!fs::is_empty(output, ec) || ec) {
    throw std::invalid_argument(output.string() +
                                " exists and is not empty: choose another --output or remove it");
  }
  return true;
}

void write_file(const fs::path& path, std::string_view content) {
  fs::create_directories(path.parent_path());
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(content.data(), static_cast<std::streamsize>(content.size()));
  file.close();
  if (!file) throw std::runtime_error("cannot write " + path.string());
}

// Removes what a failed run wrote: the directory it created, or the content
// of the empty directory it was given.
void clean_up(const fs::path& output, bool existed) noexcept {
  std::error_code ec;
  if (!existed) {
    fs::remove_all(output, ec);
    return;
  }
  std::vector<fs::path> entries;
  for (fs::directory_iterator it(output, ec), end; !ec && it != end; it.increment(ec)) {
    entries.push_back(it->path());
  }
  for (const auto& entry : entries) fs::remove_all(entry, ec);
}

}  // namespace

std::string driver_class_name(std::string_view name) {
  std::string result;
  bool start_of_part = true;
  for (const char c : name) {
    if (c == '-' || c == '_') {
      start_of_part = true;
      continue;
    }
    result += start_of_part ? upper(c) : c;
    start_of_part = false;
  }
  if (result.empty() || (result.front() >= '0' && result.front() <= '9')) {
    result.insert(0, "Driver");
  }
  return result;
}

std::string substitute_driver_name(std::string_view text, std::string_view name) {
  const std::string class_name = driver_class_name(name);
  // The template is clang-formatted: a line continuing a call or a declaration is aligned one
  // column past the parenthesis it continues. A name of another length moves that parenthesis,
  // so each continuation line aligned with it moves by as much.
  struct OpenParen {
    std::size_t template_column;
    std::size_t output_column;
  };
  std::vector<OpenParen> open;
  std::string result;
  result.reserve(text.size());
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line =
        text.substr(0, end == std::string_view::npos ? text.size() : end + 1);
    text.remove_prefix(line.size());
    const std::size_t line_start = result.size();
    std::size_t i = 0;
    const std::size_t indent = line.find_first_not_of(' ');
    if (!open.empty() && indent == open.back().template_column + 1) {
      result.append(open.back().output_column + 1, ' ');
      i = indent;
    }
    while (i < line.size()) {
      const std::string_view rest = line.substr(i);
      if (rest.starts_with(kTemplateDriverName)) {
        result += name;
        i += kTemplateDriverName.size();
      } else if (rest.starts_with(kTemplateClassName)) {
        result += class_name;
        i += kTemplateClassName.size();
      } else {
        if (line[i] == '(') open.push_back({i, result.size() - line_start});
        if (line[i] == ')' && !open.empty()) open.pop_back();
        result += line[i++];
      }
    }
  }
  return result;
}

CLI::App* add_new_driver_command(CLI::App& app, NewDriverOptions& options) {
  auto* cmd = app.add_subcommand(
      "new-driver",
      "Create the project of a new driver (CMake, the driver class, its library entry point, unit "
      "tests), built against the installed driver SDK. Exit status: 0 done, 2 error");
  cmd->add_option("name", options.name,
                  "Driver name: lower-case letters, digits, '_' and '-' (at most 64)")
      ->required();
  cmd->add_option("--kind", options.kind,
                  "The contract it serves: resource (the only template so far)")
      ->required();
  cmd->add_option("-o,--output", options.output,
                  "Directory to create, absent or empty (default: ./NAME)");
  return cmd;
}

int run_new_driver_command(const NewDriverOptions& options, std::ostream& out, std::ostream& err) {
  if (!sdk::is_valid_driver_name(options.name)) {
    err << "flint: invalid driver name '" << options.name << "': " << kNameRule << "\n";
    return kExitError;
  }
  const fs::path output =
      options.output.empty() ? fs::path(options.name) : fs::path(options.output);
  bool existed = false;
  try {
    check_kind(options.kind);
    existed = check_output(output);
  } catch (const std::exception& e) {
    err << "flint: " << e.what() << "\n";
    return kExitError;
  }
  std::vector<std::string> written;
  try {
    fs::create_directories(output);
    for (const EmbeddedFile& file : driver_template_files()) {
      const std::string path = substitute_driver_name(file.path, options.name);
      write_file(output / path, substitute_driver_name(file.content, options.name));
      written.push_back((output / path).generic_string());
    }
  } catch (const fs::filesystem_error& e) {
    clean_up(output, existed);
    // Its own what() reads "filesystem error: cannot create directories: ...".
    err << "flint: cannot create " << e.path1().string() << ": " << e.code().message() << "\n";
    return kExitError;
  } catch (const std::exception& e) {
    clean_up(output, existed);
    err << "flint: " << e.what() << "\n";
    return kExitError;
  }
  std::sort(written.begin(), written.end());
  out << "Created the " << options.kind << " driver '" << options.name << "' in "
      << output.generic_string() << ":\n";
  for (const auto& path : written) out << "  " << path << "\n";
  const std::string dir = output.generic_string();
  out << "Build and test it against an installed SDK "
         "(cmake --install <flint build dir> --component sdk --prefix <sdk prefix>):\n"
      << "  cmake -S " << dir << " -B " << dir << "/build -DCMAKE_PREFIX_PATH=<sdk prefix>\n"
      << "  cmake --build " << dir << "/build && ctest --test-dir " << dir << "/build\n"
      << "Deploying it: " << dir << "/README.md\n"
      << std::flush;
  return kExitSuccess;
}

}  // namespace flint::cli
