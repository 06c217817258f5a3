#include "drivers/driver_catalog.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <utility>

#include "config/config_error.hpp"

namespace flint::drivers {

bool equal_ignoring_case(std::string_view a, std::string_view b) noexcept {
  return std::ranges::equal(
      a, b, [](unsigned char x, unsigned char y) { return std::tolower(x) == std::tolower(y); });
}

namespace {

bool is_valid_setting_name(std::string_view name) noexcept {
  return !name.empty() && std::ranges::all_of(name, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Collects one library's registrations; the catalog takes them only when the
// whole registration succeeded.
class StagingRegistrar final : public sdk::DriverRegistrar {
 public:
  StagingRegistrar(const DriverCatalog& catalog, std::string origin)
      : catalog_(catalog), origin_(std::move(origin)) {}

  void add_driver(sdk::DriverKind kind, sdk::DriverInfo info, sdk::DriverFactory factory) override {
    if (kind != sdk::DriverKind::resource && kind != sdk::DriverKind::infrastructure) {
      throw std::invalid_argument("driver '" + info.name + "' is of kind " +
                                  std::string(sdk::to_string(kind)) +
                                  ", which this Flint does not host (it hosts resource and "
                                  "infrastructure drivers)");
    }
    const bool has_factory = static_cast<bool>(factory);
    stage({.kind = kind,
           .info = std::move(info),
           .factory = std::move(factory),
           .origin = origin_,
           .settings = {}},
          has_factory);
  }

  std::vector<RegisteredDriver> take() && { return std::move(staged_); }

 private:
  // Checks a registration and keeps it for `take`.
  void stage(RegisteredDriver driver, bool has_factory) {
    const std::string& name = driver.info.name;
    if (!sdk::is_valid_driver_name(name)) {
      throw std::invalid_argument(
          "driver name '" + name +
          "' is invalid: use 1 to 64 lower-case letters, digits, '_' or '-', "
          "starting with a letter or digit");
    }
    if (const auto* taken = catalog_.find(name)) {
      throw std::invalid_argument("driver '" + name + "' is already registered by " +
                                  taken->origin);
    }
    if (std::ranges::any_of(staged_, [&](const auto& d) { return d.info.name == name; })) {
      throw std::invalid_argument("driver '" + name + "' is registered twice by " + origin_);
    }
    if (!has_factory) throw std::invalid_argument("driver '" + name + "' has no factory");
    std::set<std::string, std::less<>> seen;
    for (const auto& setting : driver.info.settings) {
      if (!is_valid_setting_name(setting.name)) {
        throw std::invalid_argument("driver '" + name + "': setting name '" + setting.name +
                                    "' is invalid: use lower-case letters, digits and '_'");
      }
      if (!seen.insert(setting.name).second) {
        throw std::invalid_argument("driver '" + name + "': setting '" + setting.name +
                                    "' is declared twice");
      }
    }
    staged_.push_back(std::move(driver));
  }

  const DriverCatalog& catalog_;
  std::string origin_;
  std::vector<RegisteredDriver> staged_;
};

// The host's parser for a setting's type: drivers' settings read like the host's own.
config::OptionSpec spec_of(const sdk::SettingSpec& setting) {
  config::OptionSpec spec = [&] {
    switch (setting.type) {
      case sdk::SettingType::integer:
        return config::OptionSpec::integer(0, setting.description);
      case sdk::SettingType::boolean:
        return config::OptionSpec::boolean(false, setting.description);
      case sdk::SettingType::duration:
        return config::OptionSpec::duration(std::chrono::milliseconds(0), setting.description);
      case sdk::SettingType::string:
        break;
    }
    return config::OptionSpec::string("", setting.description);
  }();
  spec.secret = setting.secret;  // a secret's value never appears in an error
  return spec;
}

// The normalised text of a parsed value (see sdk::DriverSettings).
std::string normalised(const config::ConfigValue& value) {
  if (const auto* b = std::get_if<bool>(&value)) return *b ? "true" : "false";
  if (const auto* i = std::get_if<std::int64_t>(&value)) return std::to_string(*i);
  if (const auto* d = std::get_if<std::chrono::milliseconds>(&value)) {
    return std::to_string(d->count());
  }
  return std::get<std::string>(value);
}

}  // namespace

void DriverCatalog::add(std::string origin,
                        const std::function<void(sdk::DriverRegistrar&)>& register_drivers) {
  StagingRegistrar registrar(*this, std::move(origin));
  register_drivers(registrar);
  for (auto& driver : std::move(registrar).take()) drivers_.push_back(std::move(driver));
}

void DriverCatalog::configure(const config::StringMap& settings) {
  std::vector<std::string> errors;
  std::map<std::string, std::map<std::string, std::string, std::less<>>, std::less<>> given;
  for (const auto& [key, value] : settings) {
    const auto dot = key.find('.');
    const std::string full_key = "drivers.settings." + key;
    if (dot == std::string::npos) {
      errors.push_back(full_key + ": expected <driver>.<setting>");
      continue;
    }
    const std::string driver = key.substr(0, dot);
    if (!find(driver)) {
      errors.push_back(full_key + ": no driver named '" + driver + "' is registered");
      continue;
    }
    given[driver][key.substr(dot + 1)] = value;
  }
  for (auto& driver : drivers_) {
    auto& values = given[driver.info.name];
    std::map<std::string, std::string, std::less<>> checked;
    for (const auto& setting : driver.info.settings) {
      const std::string key = "drivers.settings." + driver.info.name + "." + setting.name;
      const auto it = values.find(setting.name);
      if (it == values.end()) {
        if (setting.required) {
          errors.push_back(key + ": required by driver '" + driver.info.name + "' (" +
                           setting.description + ")");
        } else if (!setting.default_value.empty() || setting.type == sdk::SettingType::string) {
          auto parsed = spec_of(setting).parse(setting.default_value);
          if (const auto* problem = std::get_if<std::string>(&parsed)) {
            errors.push_back(key + ": the driver's default '" + setting.default_value +
                             "' is invalid: " + *problem);
          } else {
            checked[setting.name] = normalised(std::get<config::ConfigValue>(parsed));
          }
        }
        continue;
      }
      auto parsed = spec_of(setting).parse(it->second);
      if (const auto* problem = std::get_if<std::string>(&parsed)) {
        errors.push_back(key + ": " + *problem);
      } else {
        checked[setting.name] = normalised(std::get<config::ConfigValue>(parsed));
      }
      values.erase(it);
    }
    for (const auto& [name, value] : values) {
      errors.push_back("drivers.settings." + driver.info.name + "." + name + ": driver '" +
                       driver.info.name + "' has no setting '" + name + "'");
    }
    driver.settings = sdk::DriverSettings(driver.info.name, std::move(checked));
  }
  if (!errors.empty()) throw config::ConfigError(std::move(errors));
}

const RegisteredDriver* DriverCatalog::find(std::string_view name) const noexcept {
  const auto it = std::ranges::find(drivers_, name, [](const auto& d) { return d.info.name; });
  return it == drivers_.end() ? nullptr : &*it;
}

const RegisteredDriver* DriverCatalog::find_by_vendor_model(sdk::DriverKind kind,
                                                            std::string_view vendor,
                                                            std::string_view model) const noexcept {
  const RegisteredDriver* any_model = nullptr;
  for (const auto& driver : drivers_) {
    if (driver.kind != kind || driver.info.vendor.empty() ||
        !equal_ignoring_case(driver.info.vendor, vendor)) {
      continue;
    }
    if (!driver.info.model.empty() && equal_ignoring_case(driver.info.model, model)) return &driver;
    if (driver.info.model.empty() && !any_model) any_model = &driver;
  }
  return any_model;
}

}  // namespace flint::drivers
