#pragma once

/// @file
/// Exit statuses of the client commands (`exec`, `find`, `events`); a usage
/// error of any command exits with `kExitError` (`CommandLine::parse`).

namespace flint::cli {

/// `exec`: COMPLETE; `find`: found; `events`: done or interrupted.
inline constexpr int kExitSuccess = 0;
/// `exec`: FAILED; `find`: not found.
inline constexpr int kExitNegative = 1;
/// Bad usage or input, an API error, no connection, or a time-out.
inline constexpr int kExitError = 2;

}  // namespace flint::cli
