#pragma once

/// @file
/// Identifiers for requests and events.

#include <string>

namespace flint::sdk {

/// A new UUID version 7 (RFC 9562) in lower-case 8-4-4-4-12 form, such as
/// `01936b2e-8c4a-7d3f-9a1b-2c3d4e5f6a7b`.
///
/// The first 48 bits are the Unix time in milliseconds and the next 12 the
/// fraction of that millisecond, so ids sort by creation time; the last 62
/// bits are random. Use it for the request ids a driver returns: the host
/// keys its durable records by them, and time-ordered keys append to the end
/// of its indexes instead of rewriting pages all over them.
///
/// Thread-safe (one generator per thread, seeded from `std::random_device`);
/// no system call per id. Not a secret: do not use it as a token.
std::string new_time_ordered_id();

}  // namespace flint::sdk
