#include "config/secret_name.hpp"

#include <gtest/gtest.h>

#include <flint/sdk/property_map.hpp>

namespace flint::config {
namespace {

TEST(LooksSecret, AgreesWithTheSdkOnEverySecretName) {
  // The logs (SDK) and `flint config` use one rule: what one hides, so does the other.
  for (const char* name :
       {"sasl.password", "ssl.key.password", "ssl.keystore.password", "ssh_passphrase",
        "passphrase", "sasl.oauthbearer.client.secret", "api.token", "acme.private",
        "acme.credentials", "creds", "acme.creds", "acme.api_key", "tls.key", "acme.sshKey"}) {
    EXPECT_TRUE(flint::sdk::is_secret_name(name)) << name;
    EXPECT_TRUE(looks_secret(name)) << name;
  }
}

TEST(LooksSecret, LibrdkafkaNamesTheSdkDoesNotKnow) {
  // A private key in PEM, and OAUTHBEARER settings carrying `clientSecret=...`.
  for (const char* name : {"ssl.key.pem", "ssl.key.location", "SSL.KEY.PEM",
                           "sasl.oauthbearer.config", "acme.config", "Acme.CONFIG"}) {
    EXPECT_TRUE(looks_secret(name)) << name;
  }
}

TEST(LooksSecret, OrdinarySettingsStayVisible) {
  for (const char* name :
       {"acks", "security.protocol", "sasl.mechanism", "sasl.username", "ssl.ca.location",
        "ssl.certificate.location", "ssl.certificate.pem", "retention.ms", "cleanup.policy",
        "acme.keyName", "acme.monkey", "acme.keyboard.layout", "config", "acme.configs",
        "acme.publicKey", "acme.public_key", ""}) {
    EXPECT_FALSE(looks_secret(name)) << name;
  }
}

}  // namespace
}  // namespace flint::config
