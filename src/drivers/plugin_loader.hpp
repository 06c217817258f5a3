#pragma once

/// @file
/// Loads driver libraries (`*.so` files exporting `flint_driver_plugin`).

#include <filesystem>
#include <vector>

#include "drivers/driver_catalog.hpp"

namespace flint::drivers {

/// Loads every `*.so` file in each folder of `dirs` (in name order; other
/// files and subfolders are ignored) and registers its drivers in `catalog`.
///
/// A library is refused, with a `LoadError` naming the file and the cause,
/// when it cannot be loaded (not a shared object, missing dependencies), has
/// no `flint_driver_plugin` entry point, was built for another driver ABI,
/// or its registration fails (a duplicate or invalid name, an exception). A
/// refused library registers nothing. A folder that does not exist is an
/// error too. Loaded libraries stay loaded for the life of the process:
/// their code backs driver instances and factories until exit.
///
/// Not thread-safe (call at start).
/// @returns the errors, in the order met; empty when everything loaded.
std::vector<LoadError> load_driver_libraries(const std::vector<std::filesystem::path>& dirs,
                                             DriverCatalog& catalog);

}  // namespace flint::drivers
