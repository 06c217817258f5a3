#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/system_error.hpp>
#include <fmt/format.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include "http/http_server.hpp"
#include "logging/logging.hpp"

namespace flint::http {

namespace ssl = boost::asio::ssl;

namespace {

[[noreturn]] void fail(std::string_view what, const std::filesystem::path& path,
                       std::string_view problem) {
  throw std::runtime_error(std::string(what) + " " + path.string() + ": " + std::string(problem));
}

// Runs an OpenSSL loading step, naming the file when it fails.
template <class Load>
void load(std::string_view what, const std::filesystem::path& path, Load&& step) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    fail(what, path, errno == ENOENT ? "does not exist" : std::strerror(errno));
  }
  // OpenSSL would wait on a pipe for a writer, forever at a start.
  if (!S_ISREG(info.st_mode)) {
    fail(what, path, "is not a regular file (a directory, a device, a pipe or a socket)");
  }
  try {
    step();
  } catch (const boost::system::system_error& e) {
    fail(what, path, "cannot be loaded (" + e.code().message() + ")");
  }
}

// An ASN.1 time as OpenSSL prints it, e.g. "Dec  4 10:00:00 2026 GMT".
std::string printed(const ASN1_TIME* time) {
  BIO* out = BIO_new(BIO_s_mem());
  if (out == nullptr) return "?";
  ASN1_TIME_print(out, time);
  char* data = nullptr;
  const long size = BIO_get_mem_data(out, &data);
  std::string text(data, static_cast<std::size_t>(size > 0 ? size : 0));
  BIO_free(out);
  return text;
}

// Clients that verify the certificate refuse it outside its validity: say
// so at the start, not only through their failed handshakes.
void warn_unless_valid_now(SSL_CTX* context, const std::filesystem::path& path) {
  const X509* certificate = SSL_CTX_get0_certificate(context);
  if (certificate == nullptr) return;
  const ASN1_TIME* not_before = X509_get0_notBefore(certificate);
  const ASN1_TIME* not_after = X509_get0_notAfter(certificate);
  if (X509_cmp_current_time(not_after) < 0) {
    logging::logger("http")->warn(
        "TLS certificate {} expired on {}: clients that verify it will refuse the connection",
        path.string(), printed(not_after));
  } else if (X509_cmp_current_time(not_before) > 0) {
    logging::logger("http")->warn(
        "TLS certificate {} is not valid before {}: clients that verify it will refuse the "
        "connection until then (is the clock right?)",
        path.string(), printed(not_before));
  }
}

}  // namespace

std::shared_ptr<ssl::context> make_tls_context(const TlsFiles& files) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  // TLS 1.2 with forward secrecy and authenticated encryption only (as
  // Mozilla's "intermediate" profile, without DHE): OpenSSL's default list
  // also offers static-RSA key exchange and SHA-1 CBC suites, and a client
  // that lists one of those first gets it. TLS 1.3's suites are all strong.
  if (SSL_CTX_set_cipher_list(context->native_handle(),
                              "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                              "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                              "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305") != 1) {
    throw std::runtime_error("TLS: OpenSSL accepts none of Flint's TLS 1.2 cipher suites");
  }
  // OpenSSL refuses to resume a session whose client presented a
  // certificate unless the context names its sessions: clients that cache
  // sessions (most TLS stacks) failed every reconnection under mutual TLS.
  static constexpr unsigned char kSessionContext[] = "flint";
  SSL_CTX_set_session_id_context(context->native_handle(), kSessionContext,
                                 sizeof kSessionContext - 1);

  load("TLS certificate chain", files.certificate,
       [&] { context->use_certificate_chain_file(files.certificate.string()); });
  warn_unless_valid_now(context->native_handle(), files.certificate);
  struct stat key_info {};
  if (::stat(files.private_key.c_str(), &key_info) == 0 && (key_info.st_mode & 077) != 0) {
    fail("TLS private key", files.private_key,
         "grants permissions to group or others (chmod 600 it)");
  }
  // Without a callback OpenSSL asks for a passphrase on the terminal, and
  // waits there forever when there is one.
  // (The context keeps the callback: it holds its own flag.)
  auto asked_passphrase = std::make_shared<bool>(false);
  context->set_password_callback([asked_passphrase](std::size_t, ssl::context::password_purpose) {
    *asked_passphrase = true;
    return std::string();
  });
  try {
    load("TLS private key", files.private_key,
         [&] { context->use_private_key_file(files.private_key.string(), ssl::context::pem); });
  } catch (const std::runtime_error&) {
    if (!*asked_passphrase) throw;
    fail("TLS private key", files.private_key,
         "is encrypted with a passphrase, which Flint cannot be given: store it unencrypted "
         "(e.g. openssl pkey -in KEY -out PLAIN), with mode 0600");
  }
  if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
    fail("TLS private key", files.private_key,
         "does not match the certificate of " + files.certificate.string());
  }

  if (!files.client_ca.empty()) {
    load("TLS client CA file", files.client_ca,
         [&] { context->load_verify_file(files.client_ca.string()); });
    // Tell clients which issuers are accepted, and refuse those without a
    // certificate from one of them.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca.c_str())) {
      SSL_CTX_set_client_CA_list(context->native_handle(), names);
    }
    context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  return context;
}

}  // namespace flint::http
