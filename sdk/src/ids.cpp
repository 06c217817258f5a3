#include <array>
#include <chrono>
#include <cstdint>
#include <random>

#include <flint/sdk/ids.hpp>

namespace flint::sdk {

std::string new_time_ordered_id() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const auto ms = static_cast<std::uint64_t>(now / 1'000'000);
  // RFC 9562 method 3: the sub-millisecond fraction, in 1/4096 ms, as rand_a.
  const auto fraction = static_cast<std::uint64_t>(now % 1'000'000) * 4096 / 1'000'000;
  const std::uint64_t high = (ms << 16) | (0x7ULL << 12) | fraction;
  const std::uint64_t low = (random() & 0x3FFF'FFFF'FFFF'FFFFULL) | 0x8000'0000'0000'0000ULL;

  constexpr char kHex[] = "0123456789abcdef";
  std::string id(36, '-');
  std::size_t at = 0;
  auto put = [&](std::uint64_t word, int first_nibble, int nibbles) {
    for (int i = 0; i < nibbles; ++i, ++at) {
      if (at == 8 || at == 13 || at == 18 || at == 23) ++at;
      id[at] = kHex[(word >> (4 * (15 - first_nibble - i))) & 0xF];
    }
  };
  put(high, 0, 16);
  put(low, 0, 16);
  return id;
}

bool is_canonical_uuid(std::string_view id) noexcept {
  if (id.size() != 36) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

bool is_time_ordered_id(std::string_view id) noexcept {
  return is_canonical_uuid(id) && id[14] == '7' &&
         (id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b');
}

std::string unusable_request_id(std::string_view id) {
  constexpr std::size_t kMaxLength = 256;
  if (id.empty()) return "it is empty";
  if (id.size() > kMaxLength) return "it is longer than " + std::to_string(kMaxLength) + " bytes";
  for (const char c : id) {
    if (c <= ' ' || c > '~' || std::string_view("/?#%\"\\").find(c) != std::string_view::npos) {
      return "it has a character other than printable ASCII without space, /, ?, #, %, \" or \\";
    }
  }
  return {};
}

}  // namespace flint::sdk
