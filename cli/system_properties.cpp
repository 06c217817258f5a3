#include "system_properties.hpp"

#include <array>
#include <cstdint>
#include <mutex>
#include <random>

namespace flint::cli {

std::string random_uuid() {
  // Identifiers, not secrets: a seeded Mersenne Twister is enough.
  static std::mutex mutex;
  static std::mt19937_64 engine{std::random_device{}()};
  std::array<std::uint8_t, 16> bytes{};
  {
    std::lock_guard lock(mutex);
    for (std::size_t i = 0; i < bytes.size(); i += 8) {
      std::uint64_t word = engine();
      for (std::size_t j = 0; j < 8; ++j) bytes[i + j] = static_cast<std::uint8_t>(word >> (8 * j));
    }
  }
  bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0F) | 0x40);  // version 4
  bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3F) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  text.reserve(36);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text.push_back('-');
    text.push_back(kHex[bytes[i] >> 4]);
    text.push_back(kHex[bytes[i] & 0x0F]);
  }
  return text;
}

void complete_system_properties(sdk::PropertyMap& properties, std::string_view location_name,
                                const std::function<std::string()>& new_uuid) {
  auto add = [&](std::string name, auto make_value) {
    if (!properties.contains(name))
      properties.set(std::move(name), sdk::Property::string(make_value()));
  };
  add("resourceId", [&] { return new_uuid(); });
  add("resourceName", [&] {
    const std::string id = properties.string_or("resourceId", "");
    return "flint-cli-" + (id.empty() ? new_uuid().substr(0, 8) : id.substr(0, 8));
  });
  add("requestId", [&] { return new_uuid(); });
  add("metricKey", [&] { return new_uuid(); });
  add("resourceManagerId", [] { return std::string(kCliResourceManagerId); });
  add("deploymentLocation", [&] { return std::string(location_name); });
  add("resourceType", [] { return std::string(kCliResourceType); });
}

}  // namespace flint::cli
