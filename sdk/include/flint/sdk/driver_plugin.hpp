#pragma once

/// @file
/// How a driver makes itself known to the host: its description, its
/// settings, the factory that makes its instances, and the entry point of a
/// driver library.
///
/// A driver library (a shared object in one of the host's `drivers.dirs`)
/// exports one C symbol, `flint_driver_plugin`, defined by the
/// `FLINT_DRIVER_PLUGIN(register_function)` macro. The host loads the
/// library, checks the ABI version the library was built with, then calls
/// the registration function, which adds one or more drivers:
///
/// ```cpp
/// void register_drivers(flint::sdk::DriverRegistrar& registrar) {
///   registrar.add_resource_driver(
///       {.name = "acme", .vendor = "Acme", .version = "1.0.0",
///        .description = "Acme appliances over their REST API",
///        .settings = {{.name = "connect_timeout", .type = flint::sdk::SettingType::duration,
///                      .default_value = "5s", .description = "TCP connect timeout"}}},
///       [](const flint::sdk::DriverInstanceContext& context) {
///         return std::make_unique<AcmeDriver>(context.settings.duration("connect_timeout"),
///                                             *context.target);
///       });
/// }
/// FLINT_DRIVER_PLUGIN(register_drivers)
/// ```
///
/// The host's built-in drivers register through the same registrar.
///
/// Binary compatibility: a library and the host exchange C++ types (strings,
/// functions, the SDK's models), so a library must be built against the SDK
/// of the same `FLINT_SDK_ABI_VERSION` as the host, with the same C++
/// standard library (on Debian bookworm: g++ 12, libstdc++). The host refuses
/// a library of another ABI version by name.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <flint/sdk/deployment_location.hpp>
#include <flint/sdk/driver.hpp>
#include <flint/sdk/infrastructure_driver.hpp>
#include <flint/sdk/resource_driver.hpp>
#include <flint/sdk/version.hpp>

namespace flint::sdk {

/// The contracts a driver can serve. `resource` and `infrastructure` are
/// hosted; the others are reserved so that listings and libraries name them
/// the same way.
enum class DriverKind {
  resource,        ///< Ignition resource driver (`ResourceDriver`)
  infrastructure,  ///< Ignition VIM driver (`InfrastructureDriver`)
  storage,         ///< Delfin storage driver (reserved)
  amphora,         ///< Octavia amphora driver (reserved)
  handler,         ///< Inmanta handler (reserved)
};

/// The kind's name as shown in listings: `resource`, `infrastructure`...
std::string_view to_string(DriverKind kind) noexcept;

/// How many instances of a driver the host makes.
enum class InstanceScope {
  /// One instance serves every target; made at start when a route can pick
  /// the driver (else at first use), destroyed at shutdown.
  shared,
  /// One instance per target (the deployment location's name and a hash of
  /// its type and properties), made at first use. Closed when idle for
  /// `drivers.instances.expire_after_access`, when least recently used past
  /// `drivers.instances.max`, when a request with newer properties
  /// (credentials) for the location was answered without error, when a
  /// request on other than the current properties failed or was overtaken,
  /// or at shutdown. Not stable across the calls of one execution: polls and
  /// `on_execution_delivered` go to the location's current instance.
  per_target,
};

/// The type of a driver setting; the host checks values against it at start.
enum class SettingType {
  string,    ///< any text
  integer,   ///< a decimal integer
  boolean,   ///< `true`/`false` (also yes/no, on/off)
  duration,  ///< `250ms`, `30s`, `5m`, `1h`; a bare number means seconds
};

/// One setting a driver accepts, from the host configuration key
/// `drivers.settings.<driver>.<name>`.
struct SettingSpec {
  /// Setting name: lower-case letters, digits and `_`.
  std::string name{};
  /// What the value must be.
  SettingType type = SettingType::string;
  /// Value when the configuration does not set it; ignored when `required`.
  std::string default_value{};
  /// One line for listings and docs.
  std::string description{};
  /// The start fails when the configuration does not set it.
  bool required = false;
  /// Never printed (passwords, tokens): left out of `GET /api/drivers`, not
  /// quoted in configuration errors.
  bool secret = false;
};

/// The settings of one driver, validated and normalised by the host: every
/// declared setting is present (set or defaulted), integers are decimal,
/// booleans `true`/`false`, durations a count of milliseconds. An optional
/// setting without a default reads as an empty string if it is a `string`
/// one, and is absent otherwise. A plain value; thread-safe to read.
class DriverSettings {
 public:
  /// Empty settings.
  DriverSettings() = default;
  /// Settings of the driver named `driver` (used in error messages), as
  /// normalised by the host.
  DriverSettings(std::string driver, std::map<std::string, std::string, std::less<>> values);

  /// The value of `name`, or nullopt when it is neither set nor defaulted
  /// (an optional `string` setting without a default gives `""`).
  std::optional<std::string_view> find(std::string_view name) const;
  /// The value of `name` as text.
  /// @throws std::out_of_range naming the key when it has no value.
  const std::string& text(std::string_view name) const;
  /// The value of an `integer` setting.
  /// @throws std::out_of_range as `text`; std::invalid_argument when not an integer.
  std::int64_t integer(std::string_view name) const;
  /// The value of a `boolean` setting.
  /// @throws std::out_of_range as `text`; std::invalid_argument when not a boolean.
  bool boolean(std::string_view name) const;
  /// The value of a `duration` setting.
  /// @throws std::out_of_range as `text`; std::invalid_argument when not a duration.
  std::chrono::milliseconds duration(std::string_view name) const;
  /// Every value, by name.
  const std::map<std::string, std::string, std::less<>>& values() const noexcept { return values_; }

 private:
  std::string key_of(std::string_view name) const;

  std::string driver_;
  std::map<std::string, std::string, std::less<>> values_;
};

/// What a factory gets to make one driver instance. Valid only during the
/// factory call.
struct DriverInstanceContext {
  /// The driver's settings.
  const DriverSettings& settings;
  /// The target of a `per_target` instance (the deployment location of the
  /// request that needed it); null for a `shared` instance.
  const DeploymentLocation* target = nullptr;
};

/// Makes a driver instance of the kind it was registered with (the host
/// calls it through that kind's contract). `per_target`: called on a driver
/// thread at a target's first use and again after its instance was closed,
/// concurrently for different targets; `shared`: once at start. Errors: as
/// `ResourceDriverFactory`.
using DriverFactory = std::function<std::unique_ptr<Driver>(const DriverInstanceContext& context)>;

/// Makes a resource driver instance. `per_target`: called on a driver thread
/// at a target's first use and again after its instance was closed (it may
/// block to connect, within reason), concurrently for different targets.
/// Throwing fails the request that needed the instance with that error
/// (`UnreachableDeploymentLocationError`, say); a failure of the target
/// (not an `InvalidRequestError`, say) counts towards its circuit breaker;
/// the next request tries again. `shared`: called once at start, on the
/// main thread, when a route can pick the driver (else at first use); an
/// exception at start stops the start.
using ResourceDriverFactory =
    std::function<std::unique_ptr<ResourceDriver>(const DriverInstanceContext& context)>;

/// Makes an infrastructure driver instance; as `ResourceDriverFactory`.
using InfrastructureDriverFactory =
    std::function<std::unique_ptr<InfrastructureDriver>(const DriverInstanceContext& context)>;

/// A driver's description, as listed by `flint drivers`.
struct DriverInfo {
  /// Unique in a host: lower-case letters, digits, `_` and `-`, at most 64
  /// characters, starting with a letter or digit. Names it in
  /// `resource_driver.driver`, routes and settings.
  std::string name{};
  /// Vendor of the systems it drives (for routing by vendor and model); may be empty.
  std::string vendor{};
  /// Model it drives, with `vendor`; empty = every model of the vendor.
  std::string model{};
  /// The driver's own version, e.g. `1.4.2`.
  std::string version{};
  /// One line.
  std::string description{};
  /// Instances per target (the default) or one shared instance.
  InstanceScope scope = InstanceScope::per_target;
  /// The settings it accepts; any other key under its name is a start error.
  std::vector<SettingSpec> settings{};
};

/// Where drivers register. Implemented by the host; passed to a library's
/// registration function, which may keep no reference to it.
class DriverRegistrar {
 public:
  /// Implemented and owned by the host.
  virtual ~DriverRegistrar() = default;
  /// Adds a driver of `kind`, whose `factory` must make instances of that
  /// kind's contract (`DriverKind::resource`: a `ResourceDriver`). The
  /// typed helpers below are the usual way in; this one is the same for
  /// every kind, so that new contracts need no new entry point. Names are
  /// unique across kinds.
  /// @throws std::invalid_argument when the name is invalid or taken, a
  ///         setting name is invalid or repeated, the factory is empty, or
  ///         this host does not serve `kind` (default values are checked at
  ///         start). A library whose registration throws registers nothing.
  virtual void add_driver(DriverKind kind, DriverInfo info, DriverFactory factory) = 0;

  /// Adds a resource driver.
  /// @throws std::invalid_argument as `add_driver`.
  void add_resource_driver(DriverInfo info, ResourceDriverFactory factory) {
    add_driver(DriverKind::resource, std::move(info), erase(std::move(factory)));
  }
  /// Adds an infrastructure (VIM) driver.
  /// @throws std::invalid_argument as `add_driver`.
  void add_infrastructure_driver(DriverInfo info, InfrastructureDriverFactory factory) {
    add_driver(DriverKind::infrastructure, std::move(info), erase(std::move(factory)));
  }

 private:
  // The typed factory as a `DriverFactory` (empty stays empty).
  template <class Contract>
  static DriverFactory erase(
      std::function<std::unique_ptr<Contract>(const DriverInstanceContext&)> factory) {
    if (!factory) return {};
    return [factory = std::move(factory)](const DriverInstanceContext& context) {
      return std::unique_ptr<Driver>(factory(context));
    };
  }
};

/// True when `name` is a valid driver name (see `DriverInfo::name`).
bool is_valid_driver_name(std::string_view name) noexcept;

/// What a driver library's entry point returns. Its layout is fixed for
/// good: `abi_version` comes first so that any host can read it before
/// touching anything else.
struct DriverPlugin {
  /// `FLINT_SDK_ABI_VERSION` the library was built with.
  std::uint32_t abi_version;
  /// `FLINT_SDK_VERSION_STRING` the library was built with.
  const char* sdk_version;
  /// Registers the library's drivers; called once, after the ABI check.
  void (*register_drivers)(DriverRegistrar& registrar);
};

}  // namespace flint::sdk

/// Name of the C symbol every driver library exports.
#define FLINT_DRIVER_PLUGIN_SYMBOL "flint_driver_plugin"

/// Defines the entry point of a driver library; `register_function` is a
/// `void(flint::sdk::DriverRegistrar&)`. Use once per library, at namespace
/// scope. Build the library with `-fvisibility=hidden`: only the entry point
/// needs to be visible.
#define FLINT_DRIVER_PLUGIN(register_function)                                        \
  extern "C" __attribute__((visibility("default"))) const ::flint::sdk::DriverPlugin* \
  flint_driver_plugin() {                                                             \
    static const ::flint::sdk::DriverPlugin plugin{                                   \
        FLINT_SDK_ABI_VERSION, FLINT_SDK_VERSION_STRING, &(register_function)};       \
    return &plugin;                                                                   \
  }
