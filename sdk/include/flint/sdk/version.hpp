#pragma once

/// @file
/// Version of the Flint driver SDK.
///
/// `FLINT_SDK_ABI_VERSION` changes whenever a change to the SDK's public types
/// would break a driver compiled against an older SDK (a new virtual function,
/// a changed struct layout). A loadable driver records the ABI version it was
/// built with and the host refuses a mismatch.

/// Major version of the SDK (semantic versioning).
#define FLINT_SDK_VERSION_MAJOR 0
/// Minor version of the SDK.
#define FLINT_SDK_VERSION_MINOR 2
/// Patch version of the SDK.
#define FLINT_SDK_VERSION_PATCH 0
/// The SDK version as a string literal.
#define FLINT_SDK_VERSION_STRING "0.2.0"
/// Binary interface version; bumped on any ABI-breaking change.
#define FLINT_SDK_ABI_VERSION 4
