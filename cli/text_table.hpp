#pragma once

/// @file
/// Plain-text tables for the client commands' output.

#include <string>
#include <vector>

namespace flint::cli {

/// `rows` (the first is the header) as lines of columns, each padded to its
/// widest cell and two spaces apart; the last column is not padded, so no
/// line ends in spaces. Rows shorter than the header leave their cells
/// empty. Pure function.
std::string text_table(const std::vector<std::vector<std::string>>& rows);

}  // namespace flint::cli
