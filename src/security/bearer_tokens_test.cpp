#include "security/bearer_tokens.hpp"

#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

namespace flint::security {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kToken = "s3cr3t-token-0123456789abcdef";
constexpr std::string_view kOther = "another-token-0123456789abcdef";

class BearerTokensFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("flint-tokens-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override { std::filesystem::remove(path_); }
  void write(const std::string& text, mode_t mode = 0600) {
    std::filesystem::remove(path_);
    std::ofstream(path_) << text;
    ::chmod(path_.c_str(), mode);
  }
  std::string refusal() {
    try {
      BearerTokens::from_file(path_);
    } catch (const TokenFileError& e) {
      return e.what();
    }
    return "(accepted)";
  }
  std::filesystem::path path_;
};

TEST(BearerTokens, AcceptsOnlyItsTokensAsBearerCredentials) {
  const auto tokens = BearerTokens::from_tokens({kToken, kOther});
  EXPECT_EQ(tokens.size(), 2u);
  EXPECT_TRUE(tokens.accepts("Bearer " + std::string(kToken)));
  EXPECT_TRUE(tokens.accepts("bearer " + std::string(kOther)));
  EXPECT_TRUE(tokens.accepts("  BEARER   " + std::string(kToken) + " "));
  EXPECT_FALSE(tokens.accepts(std::string(kToken)));
  EXPECT_FALSE(tokens.accepts("Basic " + std::string(kToken)));
  EXPECT_FALSE(tokens.accepts("Bearer " + std::string(kToken) + "x"));
  EXPECT_FALSE(tokens.accepts("Bearer " + std::string(kToken.substr(1))));
  EXPECT_FALSE(tokens.accepts("Bearer"));
  EXPECT_FALSE(tokens.accepts("Bearer "));
  EXPECT_FALSE(tokens.accepts(""));
}

TEST(BearerTokens, RefusesWeakTokens) {
  EXPECT_THROW(BearerTokens::from_tokens({"short"}), TokenFileError);
  EXPECT_THROW(BearerTokens::from_tokens({"has white space in the middle of it"}), TokenFileError);
  EXPECT_THROW(BearerTokens::from_tokens({}), TokenFileError);
}

TEST_F(BearerTokensFileTest, ReadsOneTokenPerLineSkippingCommentsAndBlanks) {
  write("# the orchestrator\n" + std::string(kToken) + "\n\n  " + std::string(kOther) + "  \n");
  const auto tokens = BearerTokens::from_file(path_);
  EXPECT_EQ(tokens.size(), 2u);
  EXPECT_TRUE(tokens.accepts("Bearer " + std::string(kOther)));
}

TEST_F(BearerTokensFileTest, RefusalsNameTheFileAndLineButNeverTheToken) {
  EXPECT_THAT(refusal(), HasSubstr("does not exist"));
  write(std::string(kToken) + "\n", 0640);
  EXPECT_THAT(refusal(), HasSubstr("chmod 600"));
  write("# nothing but comments\n\n");
  EXPECT_THAT(refusal(), HasSubstr("holds no token"));
  write(std::string(kToken) + "\nweak-one\n");
  EXPECT_THAT(refusal(), AllOf(HasSubstr(path_.string()), HasSubstr("line 2"),
                               HasSubstr("shorter than"), Not(HasSubstr("weak-one"))));
}

// A secret mount gone wrong: reading a pipe would wait for a writer forever.
TEST_F(BearerTokensFileTest, APipeIsRefusedNotWaitedOn) {
  ASSERT_EQ(::mkfifo(path_.c_str(), 0600), 0);
  EXPECT_THAT(refusal(), AllOf(HasSubstr(path_.string()), HasSubstr("is not a regular file")));
}

}  // namespace
}  // namespace flint::security
