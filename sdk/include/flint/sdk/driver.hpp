#pragma once

/// @file
/// The base of every driver contract.

#include <string>

namespace flint::sdk {

/// What every driver instance is, whatever contract it serves
/// (`ResourceDriver`, `InfrastructureDriver`, and the contracts to come):
/// the host makes, caches and destroys instances through this base, and
/// calls them through the contract their `DriverKind` names.
///
/// Ownership: the host owns each instance and destroys it when it no longer
/// needs it (see `InstanceScope`), once its running calls have returned.
class Driver {
 public:
  /// The finalizer: close sessions and connections here. Runs on a driver
  /// thread or, at shutdown, on the main thread. It may never run: at a stop
  /// whose driver calls outlast the grace period, the process exits without
  /// it. Do not rely on it to save state.
  virtual ~Driver() = default;

  /// Why this instance cannot serve any request (missing privileges or
  /// tools, say), or empty when it can: the default. The host asks right
  /// after making the instance, on the thread that made it, and shows the
  /// answer in health (the `drivers` vital turns `DEGRADED`), so that an
  /// operator learns of it before the first refused request. Must be quick
  /// and must not throw.
  virtual std::string unavailable_reason() const { return {}; }

 protected:
  /// For derived classes only; the base holds no state of its own.
  /// @{
  Driver() = default;
  Driver(const Driver&) = default;
  Driver& operator=(const Driver&) = default;
  Driver(Driver&&) = default;
  Driver& operator=(Driver&&) = default;
  /// @}
};

}  // namespace flint::sdk
