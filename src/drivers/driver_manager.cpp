#include "drivers/driver_manager.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <prometheus/family.h>

#include <flint/sdk/errors.hpp>

#include "drivers/driver_executor.hpp"
#include "drivers/retry_later_error.hpp"
#include "logging/logging.hpp"
#include "security/digest.hpp"

namespace flint::drivers {
namespace {

namespace json = boost::json;

constexpr char kSeparator = '\n';  // cannot occur in a driver name

// `value` as JSON with every object's keys sorted: the same properties sent
// in another order are the same target.
void append_canonical(const json::value& value, std::string& out) {
  if (const auto* object = value.if_object()) {
    std::vector<const json::key_value_pair*> entries;
    entries.reserve(object->size());
    for (const auto& entry : *object) entries.push_back(&entry);
    std::ranges::sort(entries, {}, [](const json::key_value_pair* e) { return e->key(); });
    out += '{';
    for (const auto* entry : entries) {
      if (out.back() != '{') out += ',';
      out += json::serialize(json::string_view(entry->key()));
      out += ':';
      append_canonical(entry->value(), out);
    }
    out += '}';
  } else if (const auto* array = value.if_array()) {
    out += '[';
    for (const auto& item : *array) {
      if (out.back() != '[') out += ',';
      append_canonical(item, out);
    }
    out += ']';
  } else {
    out += json::serialize(value);
  }
}

std::string driver_of_key(const std::string& key) {
  return key.substr(0, key.find(kSeparator));
}

std::string_view setting_type_name(sdk::SettingType type) noexcept {
  switch (type) {
    case sdk::SettingType::integer:
      return "integer";
    case sdk::SettingType::boolean:
      return "boolean";
    case sdk::SettingType::duration:
      return "duration";
    case sdk::SettingType::string:
      break;
  }
  return "string";
}

// The breaker counts failures that are the target's, not the caller's.
bool is_target_failure(const std::exception_ptr& error) {
  if (!error) return false;
  try {
    std::rethrow_exception(error);
  } catch (const CallRejected&) {
    return false;  // never reached the target: the pool was full
  } catch (const sdk::DriverError& e) {
    return sdk::counts_against_target(e.kind());  // not the answers the target gave
  } catch (...) {
    return true;
  }
}

// The host's own trouble (its disk is full): tells nothing of the target.
bool is_host_failure(const std::exception_ptr& error) {
  if (!error) return false;
  try {
    std::rethrow_exception(error);
  } catch (const sdk::TemporaryHostError&) {
    return true;
  } catch (...) {
    return false;
  }
}

std::string message_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();  // the breaker's refusals quote it to the orchestrator
  } catch (...) {
    return "a non-standard exception";
  }
}

}  // namespace

DriverManager::DriverManager(const DriverCatalog& catalog, Options options,
                             prometheus::Registry& registry)
    : catalog_(catalog),
      options_(std::move(options)),
      shared_instances_({}, [this](const std::string& key, Instance& value) { close(key, value); }),
      target_instances_({.expire_after_create = {},
                         .expire_after_access = options_.expire_after_access,
                         .max_entries = options_.max_instances},
                        [this](const std::string& key, Instance& value) { close(key, value); }) {
  auto& instances = prometheus::BuildGauge()
                        .Name("flint_driver_instances")
                        .Help("Driver instances alive, by driver")
                        .Register(registry);
  auto& created = prometheus::BuildCounter()
                      .Name("flint_driver_instances_created_total")
                      .Help("Driver instances made by their factory, by driver")
                      .Register(registry);
  auto& closed = prometheus::BuildCounter()
                     .Name("flint_driver_instances_closed_total")
                     .Help("Driver instances closed (idle, properties changed, shutdown)")
                     .Register(registry);
  auto& rejected = prometheus::BuildCounter()
                       .Name("flint_driver_breaker_rejected_total")
                       .Help("Calls refused at once because the target's circuit breaker was open")
                       .Register(registry);
  auto& open = prometheus::BuildGauge()
                   .Name("flint_driver_breakers_open")
                   .Help("Targets whose circuit breaker is open or half-open, by driver")
                   .Register(registry);
  auto& transitions = prometheus::BuildCounter()
                          .Name("flint_driver_breaker_transitions_total")
                          .Help("Circuit breaker state changes, by driver and new state")
                          .Register(registry);
  for (const auto& driver : catalog_.drivers()) {
    const std::string& name = driver.info.name;
    series_.emplace(
        name, DriverSeries{
                  .instances = &instances.Add({{"driver", name}}),
                  .created = &created.Add({{"driver", name}}),
                  .closed = &closed.Add({{"driver", name}}),
                  .rejected = &rejected.Add({{"driver", name}}),
                  .breakers_open = &open.Add({{"driver", name}}),
                  .to_open = &transitions.Add({{"driver", name}, {"state", "open"}}),
                  .to_half_open = &transitions.Add({{"driver", name}, {"state", "half_open"}}),
                  .to_closed = &transitions.Add({{"driver", name}, {"state", "closed"}}),
                  .log = logging::logger("driver." + name),
              });
  }
}

DriverManager::~DriverManager() {
  close_all();
}

void DriverManager::close(const std::string& key, Instance& instance) {
  const auto& s = series(driver_of_key(key));
  // The driver's destructor is its finalizer.
  instance.reset();
  s.closed->Increment();
  s.instances->Decrement();
}

std::shared_ptr<CircuitBreaker> DriverManager::breaker_of(const RegisteredDriver& driver,
                                                          const std::string& location_name) {
  std::string key = driver.info.name + kSeparator + location_name;
  std::lock_guard lock(mutex_);
  if (auto it = breakers_.find(key); it != breakers_.end()) return it->second;
  // A stream of made-up names must not grow the map for ever, nor one of
  // made-up names that each fail once, faster than they go quiet.
  if (breakers_.size() >= 2 * breakers_swept_size_) {
    forget_breakers_locked(/*crowded=*/breakers_.size() >= crowded_breakers());
    breakers_swept_size_ = std::max<std::size_t>(breakers_.size(), 1024);
  }
  const DriverSeries* s = &series(driver.info.name);
  auto breaker = std::make_shared<CircuitBreaker>(
      options_.breaker, [s, location = location_name](BreakerState from, BreakerState to) {
        if (from == BreakerState::closed) s->breakers_open->Increment();
        if (to == BreakerState::closed) s->breakers_open->Decrement();
        switch (to) {
          case BreakerState::open:
            s->to_open->Increment();
            s->log->warn("location {}: circuit breaker open", location);
            break;
          case BreakerState::half_open:
            s->to_half_open->Increment();
            s->log->info("location {}: circuit breaker half-open, probing", location);
            break;
          case BreakerState::closed:
            s->to_closed->Increment();
            s->log->info("location {}: circuit breaker closed", location);
            break;
        }
      });
  breakers_.emplace(std::move(key), breaker);
  return breaker;
}

std::shared_ptr<const DriverManager::Target> DriverManager::target(
    const RegisteredDriver& driver, const sdk::DeploymentLocation& location) {
  auto target = std::make_shared<Target>();
  target->driver = &driver;
  target->location_name = location.name;
  target->order = next_order_.fetch_add(1, std::memory_order_relaxed);
  if (driver.info.scope == sdk::InstanceScope::per_target) {
    std::string identity = json::serialize(json::string_view(location.type));
    append_canonical(location.properties, identity);
    target->instance_key =
        driver.info.name + kSeparator + location.name + kSeparator + security::sha256_hex(identity);
  } else {
    target->instance_key = driver.info.name;
  }
  target->breaker = breaker_of(driver, location.name);
  target->log = series(driver.info.name).log;
  return target;
}

std::uint64_t DriverManager::admit(const Target& target) {
  std::uint64_t probe = 0;
  if (auto refusal = target.breaker->admit(&probe)) {
    series(target.driver->info.name).rejected->Increment();
    throw RetryLaterError("deployment location '" + target.location_name + "' (driver '" +
                              target.driver->info.name + "'): " + refusal->reason,
                          refusal->retry_in);
  }
  return probe;
}

std::shared_ptr<DriverManager::Instance> DriverManager::make(
    const Target& target, const std::string& key, const sdk::DeploymentLocation& location) {
  const RegisteredDriver& driver = *target.driver;
  const bool shared = driver.info.scope == sdk::InstanceScope::shared;
  auto& cache = shared ? shared_instances_ : target_instances_;
  return cache.get_or_create(key, [&] {
    const sdk::DriverInstanceContext context{.settings = driver.settings,
                                             .target = shared ? nullptr : &location};
    Instance made = driver.factory(context);
    if (!made) {
      throw sdk::ResourceDriverError("driver '" + driver.info.name +
                                     "': its factory returned no instance");
    }
    note_availability(driver.info.name, *made);
    const auto& s = series(driver.info.name);
    s.created->Increment();
    s.instances->Increment();
    if (!shared) s.log->debug("made an instance for location {}", location.name);
    return made;
  });
}

std::shared_ptr<DriverManager::Instance> DriverManager::instance(
    const Target& target, const sdk::DeploymentLocation& location, bool from_request) {
  if (target.driver->info.scope == sdk::InstanceScope::shared || from_request) {
    return make(target, target.instance_key, location);
  }
  std::shared_ptr<const sdk::DeploymentLocation> current;
  std::string current_key;
  {
    std::lock_guard lock(mutex_);
    const auto it = current_.find(target.driver->info.name + kSeparator + target.location_name);
    if (it != current_.end()) {
      current = it->second.location;
      current_key = it->second.instance_key;
    }
  }
  return current ? make(target, current_key, *current)
                 : make(target, target.instance_key, location);
}

void DriverManager::settle(const Target& target, const sdk::DeploymentLocation& location,
                           bool answered) {
  if (target.driver->info.scope == sdk::InstanceScope::shared) return;
  std::string closing;  // an instance that is not current any more
  {
    std::lock_guard lock(mutex_);
    if (const auto running = requests_running_.find(target.instance_key);
        running != requests_running_.end() && --running->second == 0) {
      requests_running_.erase(running);
    }
    const std::string location_key = target.driver->info.name + kSeparator + target.location_name;
    auto it = current_.find(location_key);
    if (answered && (it == current_.end() || it->second.order < target.order)) {
      if (it == current_.end()) {
        bound_current_locked();
        it = current_.emplace(location_key, CurrentLocation{}).first;
      }
      auto& entry = it->second;
      entry.order = target.order;
      if (entry.instance_key != target.instance_key) {
        closing = std::exchange(entry.instance_key, target.instance_key);
        entry.location = std::make_shared<const sdk::DeploymentLocation>(location);
      }
    } else if (it == current_.end() || it->second.instance_key != target.instance_key) {
      closing = target.instance_key;  // failed, or overtaken by a later request
    }
    // Another request with those properties is still in the driver: it may
    // yet make them current, and it settles them when it ends.
    if (requests_running_.contains(closing)) closing.clear();
  }
  if (!closing.empty() && target_instances_.contains(closing)) {
    if (closing == target.instance_key) {
      target.log->info(
          "location {}: the instance of a request that failed or was overtaken "
          "closes",
          target.location_name);
    } else {
      target.log->info("location {}: properties changed; the previous instance closes",
                       target.location_name);
    }
    target_instances_.invalidate(closing);
  }
}

void DriverManager::enter(const Target& target) {
  if (target.driver->info.scope == sdk::InstanceScope::shared) return;
  std::lock_guard lock(mutex_);
  ++requests_running_[target.instance_key];
}

void DriverManager::remember(const Target& target, const sdk::DeploymentLocation& location) {
  if (target.driver->info.scope == sdk::InstanceScope::shared) return;
  const std::string location_key = target.driver->info.name + kSeparator + target.location_name;
  std::lock_guard lock(mutex_);
  auto it = current_.find(location_key);
  if (it == current_.end()) {
    bound_current_locked();
    it = current_.emplace(location_key, CurrentLocation{}).first;
  }
  auto& entry = it->second;
  if (entry.order != 0 || entry.instance_key == target.instance_key) return;
  entry.instance_key = target.instance_key;
  entry.location = std::make_shared<const sdk::DeploymentLocation>(location);
}

void DriverManager::bound_current_locked() {
  if (current_.size() < 4 * options_.max_instances) return;
  std::erase_if(current_, [this](const auto& entry) {
    return !target_instances_.contains(entry.second.instance_key);
  });
}

void DriverManager::record(const Target& target, const std::exception_ptr& error,
                           std::chrono::steady_clock::time_point deadline) {
  // Past the deadline the caller saw a timeout and recorded it.
  if (std::chrono::steady_clock::now() >= deadline || is_host_failure(error)) return;
  if (is_target_failure(error)) {
    target.breaker->record_failure(message_of(error));
  } else {
    target.breaker->record_success();
  }
}

void DriverManager::record_timeout(const Target& target) {
  target.breaker->record_failure("the call overran its deadline");
}

void DriverManager::warm_up(const std::vector<std::string>& driver_names) {
  for (const auto& name : driver_names) {
    const RegisteredDriver* driver = catalog_.find(name);
    if (!driver || driver->info.scope != sdk::InstanceScope::shared) continue;
    try {
      Target shared{.driver = driver,
                    .location_name = {},
                    .instance_key = name,
                    .breaker = {},
                    .log = series(name).log};
      make(shared, shared.instance_key, sdk::DeploymentLocation{});
    } catch (const std::exception& e) {
      throw std::runtime_error("driver '" + name + "' (" + driver->origin +
                               ") failed to start: " + e.what());
    }
  }
}

std::size_t DriverManager::evict_idle() {
  {
    std::lock_guard lock(mutex_);
    forget_breakers_locked();
  }
  return target_instances_.evict_expired();
}

std::size_t DriverManager::crowded_breakers() const {
  return std::max<std::size_t>(4 * options_.max_instances, 4096);
}

void DriverManager::forget_breakers_locked(bool crowded) {
  const auto quiet_for = options_.expire_after_access.count() > 0 ? options_.expire_after_access
                                                                  : std::chrono::minutes(10);
  std::erase_if(breakers_, [&](const auto& entry) {
    if (entry.second.use_count() != 1) return false;  // a call or an execution holds it
    const auto snapshot = entry.second->snapshot();
    // A closed breaker refuses nothing: forgotten, its location only counts
    // its failures afresh.
    if (snapshot.state == BreakerState::closed && (snapshot.consecutive_failures == 0 || crowded)) {
      return true;
    }
    if (snapshot.idle_for < quiet_for || snapshot.retry_in.count() > 0) return false;
    const auto cut = entry.first.find(kSeparator);
    const auto& s = series(entry.first.substr(0, cut));
    if (snapshot.state != BreakerState::closed) {
      s.breakers_open->Decrement();  // its location is not refused any more
      s.log->info("location {}: circuit breaker forgotten, no call for {:.1f} s",
                  entry.first.substr(cut + 1), snapshot.idle_for.count() / 1000.0);
    }
    return true;
  });
}

void DriverManager::close_all() {
  target_instances_.clear();
  shared_instances_.clear();
}

void DriverManager::note_availability(const std::string& driver, const sdk::Driver& instance) {
  std::string reason;
  try {
    reason = instance.unavailable_reason();
  } catch (const std::exception& e) {
    reason = std::string("its unavailable_reason() threw: ") + e.what();
  }
  std::lock_guard lock(mutex_);
  const auto it = unavailable_.find(driver);
  if (reason.empty()) {
    if (it == unavailable_.end()) return;
    unavailable_.erase(it);
    series(driver).log->info("driver '{}' can serve requests again", driver);
  } else if (it == unavailable_.end() || it->second != reason) {
    series(driver).log->warn("driver '{}' says it cannot serve requests: {}", driver, reason);
    unavailable_[driver] = std::move(reason);
  }
}

std::map<std::string, std::string> DriverManager::unavailable() const {
  std::lock_guard lock(mutex_);
  return unavailable_;
}

std::size_t DriverManager::open_breakers() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(std::ranges::count_if(breakers_, [](const auto& entry) {
    return entry.second->snapshot().state != BreakerState::closed;
  }));
}

json::array DriverManager::describe() const {
  std::unordered_map<std::string, json::array> breakers;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, breaker] : breakers_) {
      const auto snapshot = breaker->snapshot();
      if (snapshot.state == BreakerState::closed && snapshot.consecutive_failures == 0) continue;
      const auto cut = key.find(kSeparator);
      json::object entry{{"location", key.substr(cut + 1)},
                         {"state", to_string(snapshot.state)},
                         {"consecutiveFailures", snapshot.consecutive_failures},
                         {"timesOpened", snapshot.times_opened},
                         {"rejected", snapshot.rejected},
                         {"lastFailure", snapshot.last_failure}};
      if (snapshot.state == BreakerState::open) entry["retryInMs"] = snapshot.retry_in.count();
      breakers[key.substr(0, cut)].push_back(std::move(entry));
    }
  }
  json::array drivers;
  for (const auto& driver : catalog_.drivers()) {
    json::array settings;
    for (const auto& setting : driver.info.settings) {
      json::object entry{{"name", setting.name},
                         {"type", setting_type_name(setting.type)},
                         {"required", setting.required},
                         {"description", setting.description}};
      if (!setting.secret) {
        if (const auto value = driver.settings.find(setting.name)) entry["value"] = *value;
      }
      settings.push_back(std::move(entry));
    }
    json::object entry{
        {"kind", sdk::to_string(driver.kind)},
        {"name", driver.info.name},
        {"vendor", driver.info.vendor},
        {"model", driver.info.model},
        {"version", driver.info.version},
        {"description", driver.info.description},
        {"origin", driver.origin},
        {"instanceScope",
         driver.info.scope == sdk::InstanceScope::shared ? "shared" : "per_target"},
        {"instances", static_cast<std::int64_t>(series(driver.info.name).instances->Value())},
        {"settings", std::move(settings)},
        {"breakers", std::move(breakers[driver.info.name])},
    };
    drivers.push_back(std::move(entry));
  }
  return drivers;
}

}  // namespace flint::drivers
