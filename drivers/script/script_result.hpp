#pragma once

/// @file
/// The result file convention: what a script reports back, and how its exit
/// code, result file and stderr become a lifecycle execution or a find result.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <flint/sdk/lifecycle.hpp>

namespace flint::drivers::script {

/// Most a result file may hold; a larger one is malformed (outputs go into
/// the store and events, not bulk data).
inline constexpr std::size_t kMaxResultFileBytes = std::size_t{1} << 20;  // 1 MiB

/// What a script left at `$FLINT_RESULT_FILE`. Implicitly built from the
/// file's text (or nullopt: no file).
struct ResultFile {
  /// No result file.
  ResultFile() = default;
  /// No result file.
  ResultFile(std::nullopt_t /*none*/) {}  // NOLINT(google-explicit-constructor)
  /// A result file with this text.
  ResultFile(std::string text) : content(std::move(text)) {}  // NOLINT(google-explicit-constructor)
  /// The text of the result file, or nullopt for none.
  ResultFile(std::optional<std::string> text)  // NOLINT(google-explicit-constructor)
      : content(std::move(text)) {}
  /// A file that cannot be used (not a regular file, too large...);
  /// `problem` completes "malformed result file: ".
  static ResultFile unusable(std::string problem) {
    ResultFile file;
    file.problem = std::move(problem);
    return file;
  }

  /// The file's text; nullopt when there is none (or it is unusable).
  std::optional<std::string> content;
  /// Why the file cannot be used; empty when it can.
  std::string problem;
};

/// Tracks whether a text, fed in consecutive pieces, has reached the inside
/// of a PEM private key block (as `flint::logging::mask_private_keys` sees
/// them: from `-----BEGIN ...PRIVATE KEY...-----` to the next `-----END `).
/// Lets a caller that keeps only the end of a long text mask a key that
/// starts before it.
class PrivateKeyTracker {
 public:
  /// Consumes the next piece of the text.
  void feed(std::string_view piece);
  /// What to put before the rest of the text so that masking it gives the
  /// same result as masking the whole: a BEGIN line when the text fed so far
  /// ends inside a key, and any marker it ends in the middle of.
  std::string resume() const;

 private:
  std::string pending_;  // the end of the text fed: may hold the start of a marker
  bool inside_ = false;
};

/// `text` (the end of a longer text) with its PEM private keys replaced by
/// `****`; `before` is `PrivateKeyTracker::resume()` of the text preceding
/// it. A key that starts before `text` is masked up to its END line.
std::string mask_private_keys(std::string_view before, std::string_view text);

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
/// @param result_file the result file; none, or an empty or blank one, counts
///        as `{}`; an unusable one is malformed.
/// @param stderr_text the captured standard error (only its tail is used;
///        mask private keys in it first, see `mask_private_keys`).
/// @param tail_bytes how much of stderr goes into a description.
/// @returns exit 0: COMPLETE with the result's `outputs` and
///          `associatedTopology`; non-zero: FAILED with the result's
///          `failureCode` (INTERNAL_ERROR when absent or unknown) and
///          `failureDescription` (else `exit code N: <stderr tail>`), outputs
///          and topology included; a malformed result file: FAILED
///          INTERNAL_ERROR naming the field and the problem. Never throws on
///          bad script output.
sdk::LifecycleExecution lifecycle_result(std::string request_id, std::string_view lifecycle,
                                         int exit_code, const ResultFile& result_file,
                                         std::string_view stderr_text, std::size_t tail_bytes);

/// Builds the answer of a Find script that exited with 0. Pure function.
/// @returns nullopt (not found) for no result file, a blank one or `{}`;
///          otherwise the reference (`resourceId` required).
/// @throws sdk::ResourceDriverError naming the field and the problem when the
///         result file is malformed or unusable.
std::optional<sdk::FoundReference> find_result(const ResultFile& result_file);

}  // namespace flint::drivers::script
