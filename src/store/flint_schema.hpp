#pragma once

/// @file
/// The schema of Flint's main database (`<data_dir>/flint.db`), as versioned
/// migrations. Append new migrations; never edit a released one.

#include <span>

#include "store/sqlite_database.hpp"

namespace flint::store {

/// Every migration of `flint.db`, oldest first.
std::span<const Migration> flint_schema();

}  // namespace flint::store
