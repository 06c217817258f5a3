#include "files/base64.hpp"

#include <array>
#include <cstdint>

namespace flint::files {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Decoding table classes beyond the 64 sextet values.
constexpr std::uint8_t kInvalid = 0xFF;
constexpr std::uint8_t kSpace = 0xFE;
constexpr std::uint8_t kPad = 0xFD;

constexpr std::array<std::uint8_t, 256> make_decode_table() {
  std::array<std::uint8_t, 256> table{};
  for (auto& value : table) value = kInvalid;
  for (std::uint8_t i = 0; i < 64; ++i) table[static_cast<unsigned char>(kAlphabet[i])] = i;
  for (unsigned char c : {' ', '\t', '\n', '\r', '\v', '\f'}) table[c] = kSpace;
  table['='] = kPad;
  return table;
}

constexpr std::array<std::uint8_t, 256> kDecode = make_decode_table();

}  // namespace

std::optional<std::string> decode_base64(std::string_view text) {
  const auto* in = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::string out;
  out.resize(n / 4 * 3 + 3);
  auto* dst = reinterpret_cast<unsigned char*>(out.data());

  std::uint32_t quad[4];
  int filled = 0;   // sextets collected in the current group
  int padding = 0;  // '=' seen so far (only at the end of the last group)
  std::size_t i = 0;
  while (i < n) {
    // Fast path: whole groups of four alphabet characters, no whitespace.
    if (filled == 0) {
      while (i + 4 <= n) {
        const std::uint32_t a = kDecode[in[i]], b = kDecode[in[i + 1]], c = kDecode[in[i + 2]],
                            d = kDecode[in[i + 3]];
        if ((a | b | c | d) >= 64) break;
        const std::uint32_t v = (a << 18) | (b << 12) | (c << 6) | d;
        dst[0] = static_cast<unsigned char>(v >> 16);
        dst[1] = static_cast<unsigned char>(v >> 8);
        dst[2] = static_cast<unsigned char>(v);
        dst += 3;
        i += 4;
      }
      if (i >= n) break;
    }
    // Slow path: one character at a time (whitespace, padding, group boundaries).
    const std::uint8_t v = kDecode[in[i++]];
    if (v == kSpace) continue;
    if (v == kInvalid) return std::nullopt;
    if (padding > 0 && v != kPad) return std::nullopt;  // data after '='
    if (v == kPad) {
      // '=' may only fill the third and fourth position of a group.
      if (filled < 2) return std::nullopt;
      ++padding;
      quad[filled++] = 0;
    } else {
      quad[filled++] = v;
    }
    if (filled == 4) {
      const std::uint32_t w = (quad[0] << 18) | (quad[1] << 12) | (quad[2] << 6) | quad[3];
      const int bytes = 3 - padding;
      dst[0] = static_cast<unsigned char>(w >> 16);
      if (bytes > 1) dst[1] = static_cast<unsigned char>(w >> 8);
      if (bytes > 2) dst[2] = static_cast<unsigned char>(w);
      dst += bytes;
      filled = 0;
      if (padding > 0) {
        // The padded group ends the data: only whitespace may follow.
        for (; i < n; ++i) {
          if (kDecode[in[i]] != kSpace) return std::nullopt;
        }
      }
    }
  }
  if (filled != 0) return std::nullopt;  // truncated group or missing padding
  out.resize(static_cast<std::size_t>(dst - reinterpret_cast<unsigned char*>(out.data())));
  return out;
}

std::string encode_base64(std::string_view bytes) {
  const auto* in = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  std::string out;
  out.resize((n + 2) / 3 * 4);
  char* dst = out.data();
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const std::uint32_t v =
        (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | in[i + 2];
    dst[0] = kAlphabet[(v >> 18) & 63];
    dst[1] = kAlphabet[(v >> 12) & 63];
    dst[2] = kAlphabet[(v >> 6) & 63];
    dst[3] = kAlphabet[v & 63];
    dst += 4;
  }
  if (const std::size_t rest = n - i; rest > 0) {
    std::uint32_t v = std::uint32_t{in[i]} << 16;
    if (rest == 2) v |= std::uint32_t{in[i + 1]} << 8;
    dst[0] = kAlphabet[(v >> 18) & 63];
    dst[1] = kAlphabet[(v >> 12) & 63];
    dst[2] = rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    dst[3] = '=';
  }
  return out;
}

}  // namespace flint::files
