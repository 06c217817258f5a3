#include "drivers/plugin_loader.hpp"

#include <algorithm>
#include <exception>
#include <set>
#include <string>
#include <string_view>
#include <system_error>

#include <dlfcn.h>
#include <fmt/format.h>

#include <flint/sdk/version.hpp>

#include "logging/fatal_signal.hpp"
#include "security/path_safety.hpp"

namespace flint::drivers {
namespace {

namespace fs = std::filesystem;

using EntryPoint = const sdk::DriverPlugin* (*)();

std::string dl_error() {
  const char* error = dlerror();
  return error ? error : "unknown dlopen error";
}

// Loads one library; returns the problem, or an empty string once its drivers
// are registered.
std::string load_library(const fs::path& file, DriverCatalog& catalog) {
  // Its static constructors and registration run here: named if they crash.
  const logging::ScopedDriverCallNote note(file.native(), "loading its library");
  dlerror();  // clear any stale error
  // RTLD_LOCAL: one library's symbols never stand in for another's.
  void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) return "cannot be loaded: " + dl_error();
  // Every failure below unloads it again; success keeps it for good.
  auto refuse = [handle](std::string message) {
    dlclose(handle);
    return message;
  };
  auto entry = reinterpret_cast<EntryPoint>(dlsym(handle, FLINT_DRIVER_PLUGIN_SYMBOL));
  if (!entry) {
    return refuse("has no entry point '" FLINT_DRIVER_PLUGIN_SYMBOL
                  "': not a Flint driver library (define it with FLINT_DRIVER_PLUGIN)");
  }
  const sdk::DriverPlugin* plugin = entry();
  if (!plugin) return refuse("its entry point returned nothing");
  // Only abi_version may be read before the check: the rest of the layout
  // is the library's ABI.
  if (plugin->abi_version != FLINT_SDK_ABI_VERSION) {
    return refuse("was built for driver ABI " + std::to_string(plugin->abi_version) +
                  " but this host speaks ABI " + std::to_string(FLINT_SDK_ABI_VERSION) +
                  " (SDK " FLINT_SDK_VERSION_STRING "): rebuild it against this SDK");
  }
  if (!plugin->register_drivers) return refuse("its entry point has no registration function");
  // The exception may come from the library's code: it must be gone before
  // the library is unloaded, so the message is copied out of the handler.
  std::string failure;
  try {
    catalog.add(file.string(),
                [plugin](sdk::DriverRegistrar& registrar) { plugin->register_drivers(registrar); });
  } catch (const std::exception& e) {
    failure = std::string("registration failed: ") + e.what();
  } catch (...) {
    failure = "registration failed with a non-standard exception";
  }
  return failure.empty() ? failure : refuse(std::move(failure));
}

std::string not_loaded(std::string_view problem) {
  return fmt::format("not loaded: anyone who can could make Flint run their code: {}", problem);
}

}  // namespace

std::vector<LoadError> load_driver_libraries(const std::vector<fs::path>& dirs,
                                             DriverCatalog& catalog) {
  std::vector<LoadError> errors;
  std::set<fs::path> listed;  // a folder named twice (`x`, `x/`, a link) is read once
  for (const auto& given : dirs) {
    std::error_code error;
    // Absolute, so that listings say where a driver came from whatever the cwd.
    const fs::path dir = fs::absolute(given, error).lexically_normal();
    if (!fs::is_directory(dir, error)) {
      errors.push_back({dir.string(), "drivers.dirs: not a folder (or not readable)"});
      continue;
    }
    if (!listed.insert(fs::canonical(dir, error)).second && !error) continue;
    // Whoever may add a library to the folder may have Flint run it.
    if (auto problem = security::others_may_change(dir); !problem.empty()) {
      errors.push_back({dir.string(), "drivers.dirs: " + not_loaded(problem)});
      continue;
    }
    std::vector<fs::path> libraries;
    std::vector<LoadError> unusable;
    for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
      if (it->path().extension() != ".so") continue;
      // Its own error code: one entry's problem must not end the listing.
      std::error_code entry_error;
      const fs::file_status target = fs::status(it->path(), entry_error);
      if (fs::is_regular_file(target)) {
        libraries.push_back(it->path());
        continue;
      }
      // A versioned library is often deployed as a link: one to nothing must
      // not vanish from the start without a word.
      std::string why = "cannot be loaded: not a regular file";
      if (!fs::exists(target) && fs::is_symlink(fs::symlink_status(it->path(), entry_error))) {
        why = "cannot be loaded: a symbolic link to nothing ('" +
              fs::read_symlink(it->path(), entry_error).string() + "' does not exist)";
      }
      unusable.push_back({it->path().string(), std::move(why)});
    }
    if (error) {
      errors.push_back({dir.string(), "drivers.dirs: cannot list the folder: " + error.message()});
      continue;
    }
    std::ranges::sort(unusable, {}, &LoadError::file);
    errors.insert(errors.end(), unusable.begin(), unusable.end());
    std::ranges::sort(libraries);
    for (const auto& library : libraries) {
      if (auto problem = security::others_may_change(library); !problem.empty()) {
        errors.push_back({library.string(), not_loaded(problem)});
        continue;
      }
      if (auto problem = load_library(library, catalog); !problem.empty()) {
        errors.push_back({library.string(), std::move(problem)});
      }
    }
  }
  return errors;
}

}  // namespace flint::drivers
