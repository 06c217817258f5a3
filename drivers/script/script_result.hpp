#pragma once

/// @file
/// The result file convention: what a script reports back, and how its exit
/// code, result file and stderr become a lifecycle execution or a find result.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <flint/sdk/lifecycle.hpp>

namespace flint::drivers::script {

/// The last `max_bytes` of `text` (trailing white space dropped), cut on a
/// UTF-8 character boundary and with invalid UTF-8 replaced by U+FFFD, so it
/// can go into a JSON description. Prefixed with `...` when it was cut.
std::string stderr_tail(std::string_view text, std::size_t max_bytes);

/// `text` with every invalid UTF-8 sequence replaced by U+FFFD.
std::string sanitize_utf8(std::string_view text);

/// Builds the execution of a finished lifecycle script. Pure function.
///
/// @param request_id the execution's id.
/// @param lifecycle the lifecycle name, for messages.
/// @param exit_code the command's exit code (128+N when killed by signal N).
/// @param result_file the content of the result file, nullopt when the script
///        wrote none (an empty or blank file counts as none).
/// @param stderr_text the captured standard error (only its tail is used).
/// @param tail_bytes how much of stderr goes into a description.
/// @returns exit 0: COMPLETE with the result's `outputs` and
///          `associatedTopology`; non-zero: FAILED with the result's
///          `failureCode` (INTERNAL_ERROR when absent or unknown) and
///          `failureDescription` (else `exit code N: <stderr tail>`), outputs
///          and topology included; a malformed result file: FAILED
///          INTERNAL_ERROR naming the field and the problem. Never throws on
///          bad script output.
sdk::LifecycleExecution lifecycle_result(std::string request_id, std::string_view lifecycle,
                                         int exit_code,
                                         const std::optional<std::string>& result_file,
                                         std::string_view stderr_text, std::size_t tail_bytes);

/// Builds the answer of a Find script that exited with 0. Pure function.
/// @returns nullopt (not found) for no result file, a blank one or `{}`;
///          otherwise the reference (`resourceId` required).
/// @throws sdk::ResourceDriverError naming the field and the problem when the
///         result file is malformed.
std::optional<sdk::FoundReference> find_result(const std::optional<std::string>& result_file);

}  // namespace flint::drivers::script
