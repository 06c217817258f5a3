#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <flint/sdk/errors.hpp>
#include <flint/sdk/property_map.hpp>

namespace flint::sdk {
namespace {

namespace bj = boost::json;

TEST(IsSecretName, MarkersAnywhereCaseInsensitive) {
  for (const char* name :
       {"password", "adminPassword", "DB_PASSWD", "sshPassphrase", "clientSecret", "authToken",
        "privateKey", "os_private", "credentials", "creds", "awsCreds", "DB_CREDS", "apikey",
        "X-Api_Key", "sshkey", "awsAccessKeyId"}) {
    EXPECT_TRUE(is_secret_name(name)) << name;
  }
}

TEST(IsSecretName, KeyOnlyAsTrailingWord) {
  for (const char* name : {"key", "KEY", "sshKey", "accessKey", "ssh_key", "access-key", "tls.key",
                           "SSH_KEYS", "signingKeys", "v2Key", "AESKey", "TLSKeys", "DBKey"}) {
    EXPECT_TRUE(is_secret_name(name)) << name;
  }
  for (const char* name :
       {"monkey", "turkey", "keyName", "keyboard", "hotkeyset", "publicKey", "public_key",
        "sshPublicKey", "name", "resourceId", "", "k", "MONKEY", "TURKEYS", "SSHPublicKey"}) {
    EXPECT_FALSE(is_secret_name(name)) << name;
  }
}

TEST(Property, DefaultIsNullString) {
  Property property;
  EXPECT_EQ(property.type(), "string");
  EXPECT_TRUE(property.value().is_null());
  EXPECT_FALSE(property.is_key());
  EXPECT_EQ(property.key_material(), nullptr);
}

TEST(Property, Factories) {
  EXPECT_EQ(Property::string("a").as_string(), "a");
  EXPECT_EQ(Property::string("a").type(), "string");
  EXPECT_EQ(Property::integer(-7).as_integer(), -7);
  EXPECT_EQ(Property::integer(-7).type(), "integer");
  EXPECT_EQ(Property::boolean(true).as_boolean(), true);
  EXPECT_EQ(Property::boolean(true).type(), "boolean");
}

TEST(Property, KeyCarriesMaterialAndKeyNameAsValue) {
  auto property = Property::key({"k1", "PEM", std::string("PUB")});
  EXPECT_EQ(property.type(), "key");
  ASSERT_TRUE(property.is_key());
  EXPECT_EQ(property.key_material()->private_key, "PEM");
  EXPECT_EQ(property.key_material()->public_key, "PUB");
  EXPECT_EQ(property.as_string(), "k1");

  auto without_value = Property::key({"k1", "PEM", std::nullopt}, nullptr);
  EXPECT_TRUE(without_value.value().is_null());
  EXPECT_NE(property, without_value);
  EXPECT_NE(Property("key", "k1"), property);  // same type and value, no material
}

TEST(Property, AsIntegerAcceptsIntegralStringsOnly) {
  EXPECT_EQ(Property("integer", 5).as_integer(), 5);
  EXPECT_EQ(Property("integer", std::uint64_t(9)).as_integer(), 9);
  EXPECT_EQ(Property("integer", UINT64_MAX).as_integer(), std::nullopt);
  EXPECT_EQ(Property("string", "42").as_integer(), 42);
  EXPECT_EQ(Property("string", "-3").as_integer(), -3);
  EXPECT_EQ(Property("string", "4x").as_integer(), std::nullopt);
  EXPECT_EQ(Property("string", "").as_integer(), std::nullopt);
  EXPECT_EQ(Property("float", 1.5).as_integer(), std::nullopt);
  EXPECT_EQ(Property("boolean", true).as_integer(), std::nullopt);
  EXPECT_EQ(Property().as_integer(), std::nullopt);
}

TEST(Property, AsBooleanAndAsString) {
  EXPECT_EQ(Property("string", "true").as_boolean(), true);
  EXPECT_EQ(Property("string", "False").as_boolean(), false);
  EXPECT_EQ(Property("string", "yes").as_boolean(), std::nullopt);
  EXPECT_EQ(Property("integer", 1).as_boolean(), std::nullopt);
  EXPECT_EQ(Property("integer", 1).as_string(), std::nullopt);
}

TEST(PropertyMap, KeepsInsertionOrderAndReplacesInPlace) {
  PropertyMap map{{"b", Property::string("1")}, {"a", Property::string("2")}};
  map.set("c", Property::integer(3));
  map.set("b", Property::integer(4));
  std::vector<std::string> names;
  for (const auto& entry : map) names.push_back(entry.first);
  EXPECT_EQ(names, (std::vector<std::string>{"b", "a", "c"}));
  EXPECT_EQ(map.at("b").as_integer(), 4);
  EXPECT_EQ(map.size(), 3u);
}

TEST(PropertyMap, InitializerListDuplicatesReplace) {
  PropertyMap map{{"a", Property::string("1")}, {"a", Property::string("2")}};
  EXPECT_EQ(map.size(), 1u);
  EXPECT_EQ(map.at("a").as_string(), "2");
}

TEST(PropertyMap, FindAtStringOrErase) {
  PropertyMap map{{"name", Property::string("vm")}, {"count", Property::integer(2)}};
  EXPECT_TRUE(map.contains("name"));
  EXPECT_EQ(map.find("missing"), nullptr);
  EXPECT_EQ(map.string_or("name", "x"), "vm");
  EXPECT_EQ(map.string_or("count", "x"), "x");
  EXPECT_EQ(map.string_or("missing", "x"), "x");
  try {
    (void)map.at("missing");
    FAIL() << "expected InvalidRequestError";
  } catch (const InvalidRequestError& error) {
    EXPECT_STREQ(error.what(), "missing: required property is missing");
    EXPECT_EQ(error.kind(), ErrorKind::invalid_request);
  }
  EXPECT_TRUE(map.erase("name"));
  EXPECT_FALSE(map.erase("name"));
  EXPECT_EQ(map.size(), 1u);
  EXPECT_FALSE(map.empty());
}

TEST(PropertyMap, EqualityIsOrderSensitive) {
  PropertyMap ab{{"a", Property::integer(1)}, {"b", Property::integer(2)}};
  PropertyMap ba{{"b", Property::integer(2)}, {"a", Property::integer(1)}};
  EXPECT_NE(ab, ba);
  EXPECT_EQ(ab, (PropertyMap{{"a", Property::integer(1)}, {"b", Property::integer(2)}}));
}

TEST(PropertyMap, RedactedHidesKeysSecretsAndPem) {
  PropertyMap map{
      {"host", Property::string("db.local")},
      {"adminPassword", Property::string("hunter2")},
      {"emptyToken", Property("string", nullptr)},
      {"sshKey", Property::key({"deploy", "-----BEGIN RSA PRIVATE KEY-----\nabc", "ssh-rsa AAA"})},
      {"config", Property("map", bj::object{{"user", "u"},
                                            {"secret", "s"},
                                            {"nested", bj::array{bj::object{{"token", "t"}}}}})},
      {"blob", Property::string("x -----BEGIN PRIVATE KEY-----\nabc")},
      {"pgp", Property::string("-----BEGIN PGP PRIVATE KEY BLOCK-----\nxcLYBF")},
      {"custom", Property("myType", 12)},
  };
  const bj::object redacted = map.redacted();
  EXPECT_EQ(bj::serialize(redacted),
            R"({"host":{"type":"string","value":"db.local"},)"
            R"("adminPassword":{"type":"string","value":"****"},)"
            R"("emptyToken":{"type":"string","value":null},)"
            R"("sshKey":{"type":"key","keyName":"deploy","privateKey":"****",)"
            R"("publicKey":"ssh-rsa AAA","value":"****"},)"
            R"("config":{"type":"map","value":{"user":"u","secret":"****",)"
            R"("nested":[{"token":"****"}]}},)"
            R"("blob":{"type":"string","value":"****"},)"
            R"("pgp":{"type":"string","value":"****"},)"
            R"("custom":{"type":"myType","value":12}})");
}

}  // namespace
}  // namespace flint::sdk
