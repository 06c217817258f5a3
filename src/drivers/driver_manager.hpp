#pragma once

/// @file
/// The driver manager: driver instances per target, created on first use,
/// cached, closed when idle or when the target's properties change, and a
/// circuit breaker per target.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/json/array.hpp>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <spdlog/logger.h>

#include <flint/sdk/errors.hpp>
#include <flint/sdk/infrastructure_driver.hpp>
#include <flint/sdk/resource_driver.hpp>
#include <flint/sdk/target_cache.hpp>

#include "drivers/circuit_breaker.hpp"
#include "drivers/driver_catalog.hpp"

namespace flint::drivers {

/// Owns the instances of every resource driver and the breakers of their
/// targets.
///
/// A `shared` driver has one instance. A `per_target` driver has one per
/// target: the deployment location's name plus a SHA-256 of its type and
/// properties (credentials included; object keys in any order). A request
/// from the orchestrator (execute, find) runs on the instance of its own
/// properties. Once the driver answered it without error, its properties
/// become the location's current ones (unless a later request's did), and
/// the instance of the previous ones closes once its running calls return;
/// the instance of a request that failed, or was overtaken, closes too
/// unless it is the current one. Status polls of executions started earlier
/// use the location's current instance (credentials rotate; the old ones
/// may be revoked); after a restart, the current properties are those of
/// the newest execution still monitored (`remember`) until a request brings
/// others. Instances idle for `expire_after_access` are closed by
/// `evict_idle`. Closing an instance is destroying it: a driver's destructor
/// is its finalizer.
///
/// Every target has a `CircuitBreaker` (key: driver and location name).
/// Failures that count are the target's: timeouts of calls that started (not
/// of calls that waited in the executor's queue), unreachable location,
/// temporary and driver errors, a factory that throws; a caller's error
/// (invalid request, not found) counts as an answer. Location names come
/// from requests, so a breaker no call or execution holds is forgotten: at
/// once when it has counted nothing, else once its location has had no call
/// for `expire_after_access` (10 minutes when that is 0) and its open period
/// is over; its location then starts afresh. When more than 4 x
/// `max_instances` (at least 4096) locations have breakers, closed ones are
/// forgotten with their failure counts, quiet or not: a stream of made-up
/// names that each fail once cannot grow the map until they go quiet.
///
/// Thread-safe. Instances are made and used on driver threads; the catalog
/// must outlive the manager.
class DriverManager {
 public:
  /// `drivers.instances.*` and `drivers.breaker.*`.
  struct Options {
    /// A per-target instance unused this long is closed (0 = never).
    std::chrono::milliseconds expire_after_access{std::chrono::minutes(10)};
    /// Per-target instances kept at most (least recently used go first).
    std::size_t max_instances = 1024;
    /// The breaker of each target.
    CircuitBreaker::Options breaker;
  };

  /// Who serves calls for one deployment location. Computed once per
  /// location (it hashes the properties) and shared by its calls.
  struct Target {
    const RegisteredDriver* driver = nullptr;  ///< never null
    std::string location_name;                 ///< deployment location name
    std::string instance_key;                  ///< instance cache key
    std::shared_ptr<CircuitBreaker> breaker;   ///< this target's breaker
    std::shared_ptr<spdlog::logger> log;       ///< `driver.<name>` logger
    /// When it was made: a later request's target has a larger number, so
    /// the newest properties win whichever call ends first.
    std::uint64_t order = 0;
  };

  /// Registers metrics on `registry` (which must outlive the manager).
  DriverManager(const DriverCatalog& catalog, Options options, prometheus::Registry& registry);
  /// Closes every instance (see `close_all`).
  ~DriverManager();
  DriverManager(const DriverManager&) = delete;
  DriverManager& operator=(const DriverManager&) = delete;

  /// The target of `location` served by `driver` (a catalog entry).
  std::shared_ptr<const Target> target(const RegisteredDriver& driver,
                                       const sdk::DeploymentLocation& location);

  /// Fails fast when the target's breaker is open.
  /// @returns the probe's number when the call goes ahead as the half-open
  ///          probe, else 0: when the call ends without reaching the driver
  ///          (`call` records nothing then), pass it to the breaker's
  ///          `CircuitBreaker::abandon_probe` so that the next call probes.
  /// @throws sdk::TemporaryDriverError naming the target and the breaker state.
  std::uint64_t admit(const Target& target);

  /// Runs `call(driver)` with the target's instance (a `Driver`:
  /// `sdk::ResourceDriver` or `sdk::InfrastructureDriver`, the kind of the
  /// target's driver), made first when needed, and records the outcome on
  /// its breaker (unless `deadline` passed: the caller has recorded a timeout
  /// already). Blocking: call on a driver thread. `from_request`: the
  /// location comes from an orchestrator request (so its properties are
  /// current), not from a stored task.
  /// @throws what the factory or `call` throws.
  template <class Driver, class Call>
  auto call(const Target& target, const sdk::DeploymentLocation& location, bool from_request,
            std::chrono::steady_clock::time_point deadline, Call&& call)
      -> decltype(call(std::declval<Driver&>())) {
    return run<Driver>(target, location, from_request, &deadline, call);
  }

  /// `call` for a call whose outcome tells nothing of the target's health
  /// (the after-delivery hook, an optional clean-up): nothing is recorded
  /// on the breaker, so its errors cannot make the target refuse work.
  template <class Driver, class Call>
  auto call_unrecorded(const Target& target, const sdk::DeploymentLocation& location, Call&& call)
      -> decltype(call(std::declval<Driver&>())) {
    return run<Driver>(target, location, /*from_request=*/false, nullptr, call);
  }

  /// Takes `location` (of an execution or task recorded before a restart,
  /// in acceptance order) as the current properties of its target's
  /// location, unless a request since the start brought some.
  void remember(const Target& target, const sdk::DeploymentLocation& location);

  /// Records that a call to `target` started and overran its deadline (not
  /// one that expired in the queue: it never reached the target).
  void record_timeout(const Target& target);

  /// Makes the instances of the `shared` drivers named, so that their
  /// factories' errors stop the start.
  /// @throws std::runtime_error naming the driver and the factory's error.
  void warm_up(const std::vector<std::string>& driver_names);

  /// Closes per-target instances idle for `expire_after_access`, and forgets
  /// the breakers of locations left quiet; returns how many instances left
  /// the cache. Call now and then, on a driver thread.
  std::size_t evict_idle();
  /// Closes every instance (each once its running calls return). Idempotent.
  void close_all();

  /// Every driver with its instances and its breakers that are not closed
  /// and quiet, for `GET /api/drivers` and health.
  boost::json::array describe() const;
  /// Breakers open or half-open now.
  std::size_t open_breakers() const;
  /// Drivers whose latest instance said it cannot serve requests
  /// (`sdk::Driver::unavailable_reason`), with the reason.
  std::map<std::string, std::string> unavailable() const;

 private:
  // One driver instance, of its driver's kind (see `run`).
  using Instance = std::unique_ptr<sdk::Driver>;
  struct DriverSeries {
    prometheus::Gauge* instances;
    prometheus::Counter* created;
    prometheus::Counter* closed;
    prometheus::Counter* rejected;
    prometheus::Gauge* breakers_open;
    prometheus::Counter* to_open;
    prometheus::Counter* to_half_open;
    prometheus::Counter* to_closed;
    std::shared_ptr<spdlog::logger> log;
  };
  // The newest properties of a location the driver answered a request with.
  struct CurrentLocation {
    std::string instance_key;
    std::shared_ptr<const sdk::DeploymentLocation> location;
    std::uint64_t order = 0;  // of the request's target; 0: remembered
  };

  std::shared_ptr<Instance> instance(const Target& target, const sdk::DeploymentLocation& location,
                                     bool from_request);
  // Before a request's call on a per-target instance (`settle` after it).
  void enter(const Target& target);
  // After a request's call on a per-target instance: `answered` (no error)
  // makes its properties current; an instance no longer current closes once
  // no request with its properties is running.
  void settle(const Target& target, const sdk::DeploymentLocation& location, bool answered);
  // Caller holds `mutex_`. Location names come from requests: forgets the
  // locations whose instance is gone (idle: nothing polls there).
  void bound_current_locked();
  // Caller holds `mutex_`: forgets the breakers nobody holds that have
  // counted nothing, or whose location was left quiet (see the class).
  // `crowded`: also the closed breakers that counted failures, not yet quiet.
  void forget_breakers_locked(bool crowded = false);
  // How many breakers make the map crowded: 4 x max_instances, at least 4096.
  std::size_t crowded_breakers() const;
  // The finalizer of both caches: an instance left its cache and its last holder let go.
  void close(const std::string& key, Instance& instance);
  // Keeps what a new instance says of its availability, for health.
  void note_availability(const std::string& driver, const sdk::Driver& instance);
  std::shared_ptr<Instance> make(const Target& target, const std::string& key,
                                 const sdk::DeploymentLocation& location);
  // `call` and `call_unrecorded`: the outcome goes to the breaker when
  // `record_until` is given and has not passed.
  template <class Driver, class Call>
  auto run(const Target& target, const sdk::DeploymentLocation& location, bool from_request,
           const std::chrono::steady_clock::time_point* record_until, Call& call)
      -> decltype(call(std::declval<Driver&>())) {
    const auto record_outcome = [&](const std::exception_ptr& error) {
      if (record_until) record(target, error, *record_until);
      if (from_request) settle(target, location, error == nullptr);
    };
    constexpr auto kind = std::is_same_v<Driver, sdk::InfrastructureDriver>
                              ? sdk::DriverKind::infrastructure
                              : sdk::DriverKind::resource;
    static_assert(std::is_same_v<Driver, sdk::InfrastructureDriver> ||
                  std::is_same_v<Driver, sdk::ResourceDriver>);
    if (target.driver->kind != kind) {
      // A stored task naming a driver that is now of another kind.
      throw sdk::ResourceDriverError("driver '" + target.driver->info.name + "' is of kind " +
                                     std::string(sdk::to_string(target.driver->kind)) + ", not " +
                                     std::string(sdk::to_string(kind)));
    }
    if (from_request) enter(target);
    try {
      auto holder = this->instance(target, location, from_request);
      // Its factory was registered for the kind whose contract `Driver` is
      // (the routers pick drivers by kind): see DriverKind.
      auto* instance = static_cast<Driver*>(holder->get());
      if constexpr (std::is_void_v<decltype(call(*instance))>) {
        call(*instance);
        record_outcome(nullptr);
      } else {
        auto result = call(*instance);
        record_outcome(nullptr);
        return result;
      }
    } catch (const std::exception&) {
      record_outcome(std::current_exception());
      throw;
    } catch (...) {
      // A driver's `throw 42`: what follows (the reply, the poll's outcome)
      // understands std::exception only, so it becomes the driver's failure.
      auto failure = std::make_exception_ptr(sdk::DriverError(
          sdk::ErrorKind::driver, "driver '" + target.driver->info.name +
                                      "' threw an exception that is not a std::exception"));
      record_outcome(failure);
      std::rethrow_exception(failure);
    }
  }
  void record(const Target& target, const std::exception_ptr& error,
              std::chrono::steady_clock::time_point deadline);
  std::shared_ptr<CircuitBreaker> breaker_of(const RegisteredDriver& driver,
                                             const std::string& location_name);
  const DriverSeries& series(const std::string& driver) const { return series_.at(driver); }

  const DriverCatalog& catalog_;
  Options options_;
  std::unordered_map<std::string, DriverSeries> series_;  // by driver name; fixed at start
  sdk::TargetCache<Instance> shared_instances_;
  sdk::TargetCache<Instance> target_instances_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, CurrentLocation> current_;       // by breaker key
  std::unordered_map<std::string, std::size_t> requests_running_;  // by instance key
  std::unordered_map<std::string, std::shared_ptr<CircuitBreaker>> breakers_;
  std::map<std::string, std::string> unavailable_;  // by driver name
  std::size_t breakers_swept_size_ = 1024;
  std::atomic<std::uint64_t> next_order_{1};
};

}  // namespace flint::drivers
