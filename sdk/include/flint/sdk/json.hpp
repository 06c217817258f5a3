#pragma once

/// @file
/// JSON codecs (Boost.JSON) for the SDK models, exactly as on the wire.
///
/// Decoders validate as they go and throw `InvalidRequestError` with one line
/// naming the field path and the problem, e.g.
/// `systemProperties.resourceId: expected an object with "type"`.
/// The `path` argument is the field path of the value being decoded.
/// Encoders never fail.

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

#include <flint/sdk/deployment_location.hpp>
#include <flint/sdk/infrastructure.hpp>
#include <flint/sdk/lifecycle.hpp>
#include <flint/sdk/property_map.hpp>
#include <flint/sdk/topology.hpp>

namespace flint::sdk::json {

/// The longest name a request may carry, in bytes: a property or topology
/// entry's name, a deployment location's name and type, a lifecycle name...
/// Names reach logs, records and file names; no real one comes near it.
inline constexpr std::size_t kMaxNameBytes = 1024;

/// The deepest nesting of JSON the host takes in: a request body (deeper is
/// refused with 400) and what a driver returns (deeper ends the execution
/// FAILED). An object or array is one level more than the deepest item in
/// it; a scalar is 0 levels.
inline constexpr std::size_t kMaxDepth = 64;

/// The deepest nesting `parse_stored` reads. What is stored (records, jobs,
/// events, state files) wraps input of at most `kMaxDepth` levels in a few
/// of its own, so it needs more than input does, and far more than
/// Boost.JSON's default of 32.
inline constexpr std::size_t kMaxStoredDepth = 2 * kMaxDepth;

/// Parses JSON text that the host or a driver wrote from input it accepted:
/// a record, a job, an event, a state file. Use it rather than
/// `boost::json::parse`, whose default depth (32) is less than what a
/// request may carry.
/// @throws boost::system::system_error when the text is not JSON or nests
///         deeper than `kMaxStoredDepth`.
boost::json::value parse_stored(std::string_view text);
/// `parse_stored` that reports a failure in `ec` instead of throwing.
boost::json::value parse_stored(std::string_view text, boost::system::error_code& ec);

/// Whether `value` nests deeper than `limit` levels (see `kMaxDepth`). It
/// looks no deeper than `limit + 1`.
bool nests_deeper_than(const boost::json::value& value, std::size_t limit) noexcept;
/// `nests_deeper_than` of an object (one level, and what it holds).
bool nests_deeper_than(const boost::json::object& object, std::size_t limit) noexcept;

/// Why `name` cannot be a name (empty when it can): longer than
/// `kMaxNameBytes`, or holding a control character (a NUL would cut every
/// message that quotes it).
std::string unusable_name(std::string_view name);

/// `text` fit for a one-line message: each control character shown as `?`,
/// cut after `max_bytes` (with `...` appended). For names a caller sent:
/// the whole could be megabytes, or hold a NUL that would cut the message.
std::string printable(std::string_view text, std::size_t max_bytes = 120);

/// The length of the well-formed UTF-8 sequence (RFC 3629: no overlong
/// form, surrogate or code point past U+10FFFF) that starts at `text[at]`;
/// 0 when none does. `at` must be less than `text.size()`.
std::size_t utf8_sequence(std::string_view text, std::size_t at) noexcept;

/// Whether all of `text` is well-formed UTF-8.
bool is_valid_utf8(std::string_view text) noexcept;

/// Makes every string and object key in `value` well-formed UTF-8, as JSON
/// text must be (RFC 8259): each byte that does not start a well-formed
/// sequence becomes U+FFFD. The host applies it to what drivers return
/// (outputs of a device in Latin-1, say), so records, events and replies
/// stay readable. Keys that become equal keep their first value.
/// @returns how many strings and keys changed (0: `value` is untouched).
std::size_t repair_utf8(boost::json::value& value);
/// `repair_utf8` of an object: its keys and every value in it.
std::size_t repair_utf8(boost::json::object& object);

/// Replaces each number in `value` that is not finite with null. JSON text
/// has no infinity or NaN (RFC 8259), yet Boost.JSON writes them as
/// `Infinity` and `NaN`, which no parser reads back. An infinity comes from
/// parsed text whose number is beyond a double's range (`1e400`); a driver
/// may also compute one. The host applies it to what drivers return.
/// @returns how many numbers it replaced (0: `value` is untouched).
std::size_t null_non_finite(boost::json::value& value);
/// `null_non_finite` of an object: every value in it.
std::size_t null_non_finite(boost::json::object& object);

/// Where the first number of `value` that is not finite is (`a.b[2]`, below
/// `path`; `path` itself when `value` is one), or nothing. The host refuses
/// a request that holds one, naming it.
std::optional<std::string> find_non_finite(const boost::json::value& value, std::string_view path);

/// Whether JSON text Boost.JSON wrote may hold a number that is not finite
/// (`Infinity`, `NaN`; or those words in a string): a quick test before
/// looking for one with `null_non_finite`.
bool may_hold_non_finite(std::string_view text) noexcept;

/// Decodes a property map (`{"name": {"type": ..., "value": ...}, ...}`).
/// A `key` entry needs `privateKey`; a missing `value` is null.
PropertyMap decode_property_map(const boost::json::value& value, std::string_view path);
/// Encodes a property map in wire form, key material included.
boost::json::object encode(const PropertyMap& map);

/// Decodes an input topology: every entry needs string `id` and `type`.
AssociatedTopology decode_topology(const boost::json::value& value, std::string_view path);
/// Decodes an output topology (a reply, an event, a find result): like
/// `decode_topology`, but an entry may also be `null`, meaning "remove it".
AssociatedTopology decode_output_topology(const boost::json::value& value, std::string_view path);
/// Encodes a topology; removal entries become `null`.
boost::json::object encode(const AssociatedTopology& topology);

/// Decodes a deployment location: `name` required and non-empty, `type`
/// optional string, `properties` optional object.
DeploymentLocation decode_deployment_location(const boost::json::value& value,
                                              std::string_view path);
/// Encodes a deployment location in wire form (secrets included).
boost::json::object encode(const DeploymentLocation& location);

/// Encodes failure details as `{"failureCode", "description"}`.
boost::json::object encode(const FailureDetails& details);
/// Encodes an execution in the field order of the contract's lifecycle event:
/// `requestId`, `status`, `failureDetails` (only when failed), `outputs`,
/// `associatedTopology`, `version`.
boost::json::object encode(const LifecycleExecution& execution);
/// Decodes an execution (used by tests and tools reading events).
LifecycleExecution decode_lifecycle_execution(const boost::json::value& value,
                                              std::string_view path);
/// Encodes the 202 reply body: `requestId`, `associatedTopology`, `version`.
boost::json::object encode(const LifecycleExecuteResponse& response);
/// Encodes the find reply body: `{"result": {...}}` or `{"result": null}`.
boost::json::object encode(const FindReferenceResponse& response);

/// Encodes an infrastructure task as the query reply and the task event:
/// `requestId`, `infrastructureId`, `status`, `failureDetails` (only when
/// failed), `outputs`.
boost::json::object encode(const InfrastructureTask& task);
/// Encodes the 202 reply of create and delete: `infrastructureId`, `requestId`.
boost::json::object encode(const InfrastructureTaskAccepted& accepted);
/// Encodes the find reply: `{"result": {"infrastructureId", "outputs"}}` or
/// `{"result": null}`.
boost::json::object encode(const FindInfrastructureResponse& response);

/// The message version sent in replies and events (`"1.0.0"`).
inline constexpr std::string_view kMessageVersion = "1.0.0";

}  // namespace flint::sdk::json
