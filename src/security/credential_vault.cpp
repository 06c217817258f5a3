#include "security/credential_vault.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "security/digest.hpp"

namespace flint::security {
namespace {

constexpr unsigned char kFormatVersion = 1;
constexpr std::size_t kNonceSize = 12;
constexpr std::size_t kTagSize = 16;

using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

// Fetched once: OpenSSL 3 looks the algorithm up in its provider tables on
// every init given EVP_aes_256_gcm(), which costs more than sealing a small
// value.
const EVP_CIPHER* aes_256_gcm() {
  static const EVP_CIPHER* const cipher = [] {
    const EVP_CIPHER* fetched = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    if (!fetched) throw VaultError("OpenSSL provides no AES-256-GCM");
    return fetched;
  }();
  return cipher;
}

// Random nonces, drawn from OpenSSL a few hundred at a time: each RAND_bytes
// call costs a getpid system call (its fork check), once per seal otherwise.
// A thread's pool is its own, and every nonce is used once. After a fork the
// child (whose only thread is the one that forked) empties its copy, so it
// never reuses the parent's nonces.
class NoncePool {
 public:
  void draw(unsigned char* nonce) {
    if (used_ == pool_.size()) {
      if (RAND_bytes(pool_.data(), static_cast<int>(pool_.size())) != 1) {
        throw VaultError("cannot draw a nonce");
      }
      used_ = 0;
    }
    std::copy_n(pool_.begin() + static_cast<std::ptrdiff_t>(used_), kNonceSize, nonce);
    used_ += kNonceSize;
  }
  void discard() noexcept { used_ = pool_.size(); }

 private:
  std::array<unsigned char, 256 * kNonceSize> pool_{};
  std::size_t used_ = pool_.size();
};

thread_local NoncePool t_nonces;

void draw_nonce(unsigned char* nonce) {
  static const bool registered = [] {
    return ::pthread_atfork(nullptr, nullptr, [] { t_nonces.discard(); }) == 0;
  }();
  if (!registered) {
    // Cannot guard the pool against a fork: draw each nonce on its own.
    if (RAND_bytes(nonce, kNonceSize) != 1) throw VaultError("cannot draw a nonce");
    return;
  }
  t_nonces.draw(nonce);
}

CipherContext new_context() {
  CipherContext context(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (!context) throw VaultError("cannot allocate a cipher context");
  return context;
}

bool parse_hex_key(std::string_view text, std::array<unsigned char, 32>& key) {
  if (text.size() != 64) return false;
  for (std::size_t i = 0; i < 32; ++i) {
    unsigned value = 0;
    for (char c : text.substr(i * 2, 2)) {
      value <<= 4;
      if (c >= '0' && c <= '9')
        value |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f')
        value |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        value |= static_cast<unsigned>(c - 'A' + 10);
      else
        return false;
    }
    key[i] = static_cast<unsigned char>(value);
  }
  return true;
}

// Writes `key` to `path`, which must not exist, so that no process ever sees
// a partial key there (a failed write, a full disk, a crash leave no file):
// a temporary file beside it is written and synced, then linked into place,
// which never replaces a file. False when `path` appeared meanwhile.
// @throws VaultError naming the file and the system's reason.
bool create_key_file(const std::filesystem::path& path, const std::array<unsigned char, 32>& key) {
  const std::string name = path.string();
  std::string temporary = name + ".XXXXXX";
  const int fd = ::mkostemp(temporary.data(), O_CLOEXEC);  // mode 0600
  if (fd < 0) {
    throw VaultError("cannot create the key file " + name + ": cannot create " + temporary + ": " +
                     std::strerror(errno));
  }
  // Closes the temporary file (when still open), removes it and throws.
  int open_fd = fd;
  const auto fail = [&](const std::string& what, int error) {
    if (open_fd >= 0) ::close(open_fd);
    ::unlink(temporary.c_str());
    throw VaultError("cannot create the key file " + name + ": " + what + ": " +
                     std::strerror(error));
  };
  std::size_t done = 0;
  while (done < key.size()) {
    const ssize_t n = ::write(fd, key.data() + done, key.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot write " + temporary, errno);
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail("cannot sync " + temporary, errno);
  open_fd = -1;
  if (::close(fd) != 0) fail("cannot write " + temporary, errno);
  if (::link(temporary.c_str(), name.c_str()) != 0) {
    if (errno == EEXIST) {
      ::unlink(temporary.c_str());
      return false;
    }
    fail("cannot link " + temporary + " to it", errno);
  }
  ::unlink(temporary.c_str());  // the key is in place: a leftover copy only costs space
  // The new directory entry must survive a power loss as well.
  const std::string directory =
      path.has_parent_path() ? path.parent_path().string() : std::string(".");
  const int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool synced = dir_fd >= 0 && ::fsync(dir_fd) == 0;
  const int error = errno;
  if (dir_fd >= 0) ::close(dir_fd);
  if (!synced) {
    throw VaultError("cannot sync the directory " + directory + " of the new key file " + name +
                     ": " + std::strerror(error));
  }
  return true;
}

}  // namespace

CredentialVault CredentialVault::from_key_file(const std::filesystem::path& path) {
  return load_key_file(path, /*create_if_missing=*/true);
}

CredentialVault CredentialVault::from_existing_key_file(const std::filesystem::path& path) {
  return load_key_file(path, /*create_if_missing=*/false);
}

CredentialVault CredentialVault::from_hex_key(std::string_view hex, std::string_view origin) {
  std::array<unsigned char, 32> key{};
  if (!parse_hex_key(hex, key)) {
    throw VaultError(std::string(origin) + " must hold 64 hex characters (a 256-bit key)");
  }
  return CredentialVault(key);
}

CredentialVault CredentialVault::load_key_file(const std::filesystem::path& path,
                                               bool create_if_missing) {
  std::array<unsigned char, 32> key{};
  const std::string name = path.string();
  struct stat info {};
  if (::stat(name.c_str(), &info) != 0) {
    // Unreachable is not missing: a new key could not open what the old one sealed.
    if (errno != ENOENT) {
      throw VaultError("cannot read the key file " + name + ": " + std::strerror(errno));
    }
    if (!create_if_missing) throw VaultError("key file " + name + " does not exist");
    if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
      throw VaultError("cannot draw a random key for " + name);
    }
    if (create_key_file(path, key)) return CredentialVault(key);
    // Another process made it meanwhile: use its key, read below.
    if (::stat(name.c_str(), &info) != 0) {
      throw VaultError("cannot read the key file " + name + ": " + std::strerror(errno));
    }
  }
  // Followed links included: a directory or a device is no key, whatever its mode.
  if (S_ISDIR(info.st_mode)) throw VaultError(name + " is a directory, expected a regular file");
  if (!S_ISREG(info.st_mode))
    throw VaultError(name + " is not a regular file (a device, a pipe or a socket)");
  if ((info.st_mode & 077) != 0) {
    throw VaultError("key file " + name + " is readable by group or others (chmod 600 it)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw VaultError("cannot read the key file " + name + ": " + std::strerror(errno));
  const std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) throw VaultError("cannot read the key file " + name);
  std::string_view text = content;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  if (content.size() == key.size()) {
    std::copy(content.begin(), content.end(), key.begin());
  } else if (!parse_hex_key(text, key)) {
    throw VaultError("key file " + name + " must hold 32 raw bytes or 64 hex characters");
  }
  return CredentialVault(key);
}

std::string CredentialVault::key_id() const {
  std::string input = "flint key id\n";
  input.append(reinterpret_cast<const char*>(key_.data()), key_.size());
  return sha256_hex(input).substr(0, 16);
}

std::string CredentialVault::seal(std::string_view plaintext,
                                  std::string_view associated_data) const {
  std::string sealed(1 + kNonceSize + plaintext.size() + kTagSize, '\0');
  auto* out = reinterpret_cast<unsigned char*>(sealed.data());
  out[0] = kFormatVersion;
  unsigned char* nonce = out + 1;
  draw_nonce(nonce);
  auto context = new_context();
  int length = 0;
  if (EVP_EncryptInit_ex(context.get(), aes_256_gcm(), nullptr, key_.data(), nonce) != 1 ||
      EVP_EncryptUpdate(context.get(), nullptr, &length,
                        reinterpret_cast<const unsigned char*>(associated_data.data()),
                        static_cast<int>(associated_data.size())) != 1 ||
      EVP_EncryptUpdate(context.get(), nonce + kNonceSize, &length,
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(context.get(), nonce + kNonceSize + length, &length) != 1 ||
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_GET_TAG, kTagSize,
                          nonce + kNonceSize + plaintext.size()) != 1) {
    throw VaultError("encryption failed");
  }
  return sealed;
}

std::string CredentialVault::open(std::string_view sealed, std::string_view associated_data) const {
  if (sealed.size() < 1 + kNonceSize + kTagSize ||
      static_cast<unsigned char>(sealed[0]) != kFormatVersion) {
    throw VaultError("sealed value has an unknown format");
  }
  const auto* in = reinterpret_cast<const unsigned char*>(sealed.data());
  const unsigned char* nonce = in + 1;
  const std::size_t size = sealed.size() - 1 - kNonceSize - kTagSize;
  std::string plaintext(size, '\0');
  auto context = new_context();
  int length = 0;
  unsigned char tag[kTagSize];
  std::copy(nonce + kNonceSize + size, nonce + kNonceSize + size + kTagSize, tag);
  if (EVP_DecryptInit_ex(context.get(), aes_256_gcm(), nullptr, key_.data(), nonce) != 1 ||
      EVP_DecryptUpdate(context.get(), nullptr, &length,
                        reinterpret_cast<const unsigned char*>(associated_data.data()),
                        static_cast<int>(associated_data.size())) != 1 ||
      EVP_DecryptUpdate(context.get(), reinterpret_cast<unsigned char*>(plaintext.data()), &length,
                        nonce + kNonceSize, static_cast<int>(size)) != 1 ||
      EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag) != 1 ||
      EVP_DecryptFinal_ex(context.get(),
                          reinterpret_cast<unsigned char*>(plaintext.data()) + length,
                          &length) != 1) {
    throw VaultError("sealed value failed authentication (wrong key or tampered)");
  }
  return plaintext;
}

}  // namespace flint::security
