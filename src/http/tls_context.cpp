#include <stdexcept>
#include <string>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/system_error.hpp>
#include <openssl/ssl.h>
#include <sys/stat.h>

#include "http/http_server.hpp"

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
  if (::stat(path.c_str(), &info) != 0) fail(what, path, "does not exist");
  try {
    step();
  } catch (const boost::system::system_error& e) {
    fail(what, path, "cannot be loaded (" + e.code().message() + ")");
  }
}

}  // namespace

std::shared_ptr<ssl::context> make_tls_context(const TlsFiles& files) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);

  load("TLS certificate chain", files.certificate,
       [&] { context->use_certificate_chain_file(files.certificate.string()); });
  struct stat key_info {};
  if (::stat(files.private_key.c_str(), &key_info) == 0 && (key_info.st_mode & 077) != 0) {
    fail("TLS private key", files.private_key,
         "grants permissions to group or others (chmod 600 it)");
  }
  load("TLS private key", files.private_key,
       [&] { context->use_private_key_file(files.private_key.string(), ssl::context::pem); });
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
