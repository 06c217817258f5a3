#include "server_access.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

namespace flint::cli {
namespace {

using ::testing::ElementsAre;

class TokenWarningsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(token_) << "token-0123456789abcdefghij\n";
    std::filesystem::permissions(
        token_, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
  void TearDown() override { std::filesystem::remove(token_); }

  ServerAccess access(std::string url) const {
    ServerAccess access;
    access.url = std::move(url);
    access.token_file = token_.string();
    return access;
  }

  const std::filesystem::path token_ =
      std::filesystem::temp_directory_path() / ("flint-cli-warn-" + std::to_string(::getpid()));
};

TEST_F(TokenWarningsTest, NoneForAPrivateFileSentToThisMachineOrOverTls) {
  EXPECT_THAT(token_warnings(access("http://127.0.0.1:8290")), ElementsAre());
  EXPECT_THAT(token_warnings(access("http://localhost:8290/flint")), ElementsAre());
  EXPECT_THAT(token_warnings(access("http://LocalHost:8290")), ElementsAre());  // any case
  EXPECT_THAT(token_warnings(access("http://[::1]:8290")), ElementsAre());
  EXPECT_THAT(token_warnings(access("https://flint.example.net")), ElementsAre());
  // Nothing to give away without a token.
  ServerAccess without_token;
  without_token.url = "http://flint.example.net";
  EXPECT_THAT(token_warnings(without_token), ElementsAre());
}

TEST_F(TokenWarningsTest, NamesAFileOthersMayReadAndATokenSentInClearText) {
  std::filesystem::permissions(token_, std::filesystem::perms::group_read,
                               std::filesystem::perm_options::add);
  EXPECT_THAT(token_warnings(access("http://10.0.0.7:8290")),
              ElementsAre("--token-file " + token_.string() +
                              " grants permissions to group or others (chmod 600 it)",
                          "the token goes to 10.0.0.7 in clear text (http://): anyone on the way "
                          "can read and use it; use https://"));
}

TEST_F(TokenWarningsTest, ConnectWritesThemAndStillMakesTheClient) {
  std::ostringstream err;
  connect(access("http://flint.example.net"), err);
  EXPECT_EQ(err.str(),
            "flint: warning: the token goes to flint.example.net in clear text (http://): anyone "
            "on the way can read and use it; use https://\n");
}

}  // namespace
}  // namespace flint::cli
