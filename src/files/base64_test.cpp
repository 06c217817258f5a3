#include "files/base64.hpp"

#include <random>
#include <string>

#include <gtest/gtest.h>

namespace flint::files {
namespace {

TEST(Base64, EncodesRfc4648Vectors) {
  EXPECT_EQ(encode_base64(""), "");
  EXPECT_EQ(encode_base64("f"), "Zg==");
  EXPECT_EQ(encode_base64("fo"), "Zm8=");
  EXPECT_EQ(encode_base64("foo"), "Zm9v");
  EXPECT_EQ(encode_base64("foob"), "Zm9vYg==");
  EXPECT_EQ(encode_base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(encode_base64("foobar"), "Zm9vYmFy");
}

TEST(Base64, DecodesRfc4648Vectors) {
  EXPECT_EQ(decode_base64(""), "");
  EXPECT_EQ(decode_base64("Zg=="), "f");
  EXPECT_EQ(decode_base64("Zm8="), "fo");
  EXPECT_EQ(decode_base64("Zm9v"), "foo");
  EXPECT_EQ(decode_base64("Zm9vYg=="), "foob");
  EXPECT_EQ(decode_base64("Zm9vYmE="), "fooba");
  EXPECT_EQ(decode_base64("Zm9vYmFy"), "foobar");
}

TEST(Base64, UsesTheStandardAlphabetIncludingPlusAndSlash) {
  const std::string bytes("\xfb\xff\xbf", 3);
  EXPECT_EQ(encode_base64(bytes), "+/+/");
  EXPECT_EQ(decode_base64("+/+/"), bytes);
}

TEST(Base64, RoundTripsEveryByteAndLength) {
  std::mt19937 rng(42);
  for (std::size_t length = 0; length < 300; ++length) {
    std::string bytes(length, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng() & 0xFF);
    const auto encoded = encode_base64(bytes);
    EXPECT_EQ(encoded.size() % 4, 0U);
    const auto decoded = decode_base64(encoded);
    ASSERT_TRUE(decoded.has_value()) << "length " << length;
    EXPECT_EQ(*decoded, bytes) << "length " << length;
  }
}

TEST(Base64, IgnoresAsciiWhitespaceAnywhere) {
  EXPECT_EQ(decode_base64("Zm9v\r\nYmFy\n"), "foobar");
  EXPECT_EQ(decode_base64(" Z m 9 v\tY g = = "), "foob");
  EXPECT_EQ(decode_base64("Zm9vYg=\n="), "foob");
  EXPECT_EQ(decode_base64("\v\f\n"), "");
  // MIME-style 76-column wrapping of a longer payload.
  const std::string bytes(1000, 'x');
  std::string wrapped;
  const auto encoded = encode_base64(bytes);
  for (std::size_t i = 0; i < encoded.size(); i += 76) wrapped += encoded.substr(i, 76) + "\r\n";
  EXPECT_EQ(decode_base64(wrapped), bytes);
}

TEST(Base64, RejectsCharactersOutsideTheAlphabet) {
  EXPECT_EQ(decode_base64("Zm9v!mFy"), std::nullopt);
  EXPECT_EQ(decode_base64("Zm9-YmFy"), std::nullopt);  // URL-safe alphabet
  EXPECT_EQ(decode_base64("Zm9_YmFy"), std::nullopt);
  EXPECT_EQ(decode_base64("Zm9v\xc3\xa9mF"), std::nullopt);
  EXPECT_EQ(decode_base64(std::string("Zm9v\0mFy", 8)), std::nullopt);
}

TEST(Base64, RejectsBadOrMissingPadding) {
  EXPECT_EQ(decode_base64("Zg"), std::nullopt);   // padding required
  EXPECT_EQ(decode_base64("Zg="), std::nullopt);  // incomplete group
  EXPECT_EQ(decode_base64("Zm9"), std::nullopt);
  EXPECT_EQ(decode_base64("Z==="), std::nullopt);  // '=' too early
  EXPECT_EQ(decode_base64("===="), std::nullopt);
  EXPECT_EQ(decode_base64("=Zg="), std::nullopt);
  EXPECT_EQ(decode_base64("Zg=a"), std::nullopt);      // data inside the padding
  EXPECT_EQ(decode_base64("Zg==Zg=="), std::nullopt);  // data after the padding
  EXPECT_EQ(decode_base64("Zg==="), std::nullopt);     // too much padding
  EXPECT_EQ(decode_base64("Zm9vY"), std::nullopt);     // truncated
}

}  // namespace
}  // namespace flint::files
