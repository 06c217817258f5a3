#include "security/credential_vault.hpp"

#include <filesystem>
#include <fstream>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace flint::security {
namespace {

std::filesystem::path temp_path(const char* name) {
  auto path = std::filesystem::temp_directory_path() /
              (std::string("flint-vault-") + std::to_string(::getpid()) + "-" + name);
  std::filesystem::remove(path);
  return path;
}

TEST(CredentialVault, RoundTripsAndNeverRepeatsCiphertext) {
  const CredentialVault vault({1, 2, 3});
  const std::string secret = R"({"password":"hunter2"})";
  const auto a = vault.seal(secret);
  const auto b = vault.seal(secret);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find("hunter2"), std::string::npos);
  EXPECT_EQ(vault.open(a), secret);
  EXPECT_EQ(vault.open(b), secret);
}

// The 12 bytes after the format byte.
std::string nonce_of(const std::string& sealed) {
  return sealed.substr(1, 12);
}

TEST(CredentialVault, NoncesNeverRepeatAcrossThreadsAndPoolRefills) {
  const CredentialVault vault({1, 2, 3});
  std::vector<std::string> a;
  std::vector<std::string> b;
  const auto seal_many = [&](std::vector<std::string>& out) {
    for (int i = 0; i < 1000; ++i) out.push_back(nonce_of(vault.seal("x")));
  };
  std::thread other(seal_many, std::ref(b));
  seal_many(a);
  other.join();
  std::set<std::string> distinct(a.begin(), a.end());
  distinct.insert(b.begin(), b.end());
  EXPECT_EQ(distinct.size(), a.size() + b.size());
}

TEST(CredentialVault, AForkedChildNeverReusesTheParentsNonces) {
  const CredentialVault vault({1, 2, 3});
  vault.seal("x");  // the pool holds nonces now
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string nonce = nonce_of(vault.seal("x"));
    const bool written =
        ::write(pipe_fds[1], nonce.data(), nonce.size()) == static_cast<ssize_t>(nonce.size());
    ::_exit(written ? 0 : 1);
  }
  ::close(pipe_fds[1]);
  std::string from_child(12, '\0');
  ASSERT_EQ(::read(pipe_fds[0], from_child.data(), from_child.size()), 12);
  ::close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_NE(nonce_of(vault.seal("x")), from_child);
}

TEST(CredentialVault, DetectsTamperingAndWrongKeys) {
  const CredentialVault vault({1});
  auto sealed = vault.seal("secret");
  const CredentialVault other({2});
  EXPECT_THROW(other.open(sealed), VaultError);
  sealed[sealed.size() / 2] ^= 1;
  EXPECT_THROW(vault.open(sealed), VaultError);
  EXPECT_THROW(vault.open("short"), VaultError);
}

TEST(CredentialVault, KeyIdTellsKeysApartAndNothingMore) {
  const CredentialVault one({1});
  EXPECT_EQ(one.key_id(), CredentialVault({1}).key_id());
  EXPECT_NE(one.key_id(), CredentialVault({2}).key_id());
  EXPECT_EQ(one.key_id().size(), 16U);
  EXPECT_EQ(one.key_id().find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(CredentialVault, KeyFileIsCreatedPrivateAndReused) {
  const auto path = temp_path("key");
  const auto first = CredentialVault::from_key_file(path);
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  const auto second = CredentialVault::from_key_file(path);
  EXPECT_EQ(second.open(first.seal("x")), "x");
  std::filesystem::remove(path);
}

// A key that cannot be written in full (a full disk; here a file size limit
// of 0) leaves no file behind: a later start makes a new key instead of
// finding an empty or partial one it would refuse.
TEST(CredentialVault, AKeyFileThatCannotBeWrittenLeavesNoFileBehind) {
  const auto dir = temp_path("key-full");
  std::filesystem::create_directories(dir);
  const auto path = dir / "credentials.key";
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::signal(SIGXFSZ, SIG_IGN);  // write fails with EFBIG instead of killing
    const rlimit none{0, 0};
    std::string message = "accepted";
    if (::setrlimit(RLIMIT_FSIZE, &none) != 0) {
      message = "setrlimit failed";
    } else {
      try {
        CredentialVault::from_key_file(path);
      } catch (const VaultError& e) {
        message = e.what();
      }
    }
    const bool written = ::write(pipe_fds[1], message.data(), message.size()) ==
                         static_cast<ssize_t>(message.size());
    ::_exit(written ? 0 : 1);
  }
  ::close(pipe_fds[1]);
  std::string message;
  char buffer[512];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;) message.append(buffer, n);
  ::close(pipe_fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(message.rfind("cannot create the key file " + path.string() + ": cannot write " +
                              path.string() + ".",
                          0),
            0u)
      << message;
  EXPECT_NE(message.find(": File too large"), std::string::npos) << message;
  EXPECT_TRUE(std::filesystem::is_empty(dir)) << "a partial key or its temporary file is left";

  const auto made = CredentialVault::from_key_file(path);  // the next start
  EXPECT_EQ(std::filesystem::file_size(path), 32u);
  EXPECT_EQ(CredentialVault::from_existing_key_file(path).key_id(), made.key_id());
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir),
                          std::filesystem::directory_iterator()),
            1);
  std::filesystem::remove_all(dir);
}

TEST(CredentialVault, RefusesAKeyFileOthersCanRead) {
  const auto path = temp_path("open-key");
  { std::ofstream(path) << std::string(64, 'a'); }
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::others_read);
  EXPECT_THROW(CredentialVault::from_key_file(path), VaultError);
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  EXPECT_NO_THROW(CredentialVault::from_key_file(path));  // 64 hex characters
  std::filesystem::remove(path);
}

// The message follows the option name (`cluster.key_file: ...`).
std::string refusal(const std::filesystem::path& path) {
  try {
    CredentialVault::from_existing_key_file(path);
  } catch (const VaultError& e) {
    return e.what();
  }
  return "accepted";
}

TEST(CredentialVault, AKeyFileMustBeARegularFile) {
  const auto dir = temp_path("key-dir");
  std::filesystem::create_directories(dir);
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
  EXPECT_EQ(refusal(dir), dir.string() + " is a directory, expected a regular file");
  std::filesystem::permissions(dir, std::filesystem::perms::all);  // not "readable by others"
  EXPECT_EQ(refusal(dir), dir.string() + " is a directory, expected a regular file");
  const auto link = dir / "zero";
  std::filesystem::create_symlink("/dev/zero", link);
  EXPECT_EQ(refusal(link), link.string() + " is not a regular file (a device, a pipe or a socket)");
  std::filesystem::remove_all(dir);
}

TEST(CredentialVault, AssociatedDataBindsTheSealedValue) {
  const CredentialVault vault = CredentialVault::from_hex_key(std::string(64, 'a'), "TEST_KEY");
  const std::string sealed = vault.seal("location", "request-1");
  EXPECT_EQ(vault.open(sealed, "request-1"), "location");
  EXPECT_THROW(vault.open(sealed, "request-2"), VaultError);
  EXPECT_THROW(vault.open(sealed), VaultError);
}

TEST(CredentialVault, SharedKeysAreGivenNeverInvented) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("flint-vault-existing-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  EXPECT_THROW(CredentialVault::from_existing_key_file(dir / "cluster.key"), VaultError);
  EXPECT_FALSE(std::filesystem::exists(dir / "cluster.key"));
  EXPECT_THROW(CredentialVault::from_hex_key("not hex", "FLINT_CLUSTER_KEY"), VaultError);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace flint::security
