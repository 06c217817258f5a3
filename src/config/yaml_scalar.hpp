#pragma once

/// @file
/// Writing strings as YAML scalars that read back as the same strings
/// (internal to the config module).

#include <string>

#include <yaml-cpp/emitter.h>

namespace flint::config {

/// Writes `text` to `out` as a scalar, quoted when a YAML reader could take it
/// for something else (a boolean, null, a number, or syntax). Works in block
/// and flow context.
void emit_scalar(YAML::Emitter& out, const std::string& text);

/// `text` as a standalone YAML scalar (see `emit_scalar`).
std::string yaml_scalar(const std::string& text);

}  // namespace flint::config
