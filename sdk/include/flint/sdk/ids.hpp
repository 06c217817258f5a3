#pragma once

/// @file
/// Identifiers for requests and events.

#include <string>
#include <string_view>

namespace flint::sdk {

/// A new UUID version 7 (RFC 9562) in lower-case 8-4-4-4-12 form, such as
/// `01936b2e-8c4a-7d3f-9a1b-2c3d4e5f6a7b`.
///
/// The first 48 bits are the Unix time in milliseconds and the next 12 the
/// fraction of that millisecond, so ids sort by creation time; the last 62
/// bits are random. Use it for the request ids a driver returns: the host
/// keys its durable records by the request id the orchestrator knows (the
/// driver's, or the one the request queue promised at acceptance; the host
/// maps between the two) and derives the ids of their terminal events from
/// it, and time-ordered keys append to the end of its indexes instead of
/// rewriting pages all over them.
///
/// Thread-safe (one generator per thread, seeded from `std::random_device`);
/// no system call per id. Not a secret: do not use it as a token.
std::string new_time_ordered_id();

/// Whether `id` is a UUID in lower-case 8-4-4-4-12 form, of any version
/// (what `new_time_ordered_id` makes, and what is safe in a file name).
bool is_canonical_uuid(std::string_view id) noexcept;

/// Whether `id` is a UUID version 7 (RFC 9562 variant) in the form above:
/// its first 48 bits are then a Unix time in milliseconds.
bool is_time_ordered_id(std::string_view id) noexcept;

/// Why `id` cannot be the request id of an execution (empty when it can).
/// The host puts request ids into URL paths (`/executions/{id}`), event keys,
/// JSON and logs, so an id must be 1 to 256 bytes of printable ASCII without
/// space, `/`, `?`, `#`, `%`, `"` or `\`; an execute whose driver returns
/// another id is answered 500. The conformance suite applies the same rule.
std::string unusable_request_id(std::string_view id);

}  // namespace flint::sdk
