#include "system_properties.hpp"

#include <regex>
#include <set>

#include <gtest/gtest.h>

namespace flint::cli {
namespace {

TEST(RandomUuidTest, IsAVersion4UuidAndUnique) {
  const std::regex form("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = random_uuid();
    ASSERT_TRUE(std::regex_match(id, form)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(CompleteSystemPropertiesTest, GeneratesEveryMissingProperty) {
  int counter = 0;
  auto uuid = [&] { return "uuid-" + std::to_string(++counter) + "-0000000"; };
  sdk::PropertyMap properties;
  complete_system_properties(properties, "lab", uuid);
  EXPECT_EQ(properties.string_or("resourceId", ""), "uuid-1-0000000");
  EXPECT_EQ(properties.string_or("resourceName", ""), "flint-cli-uuid-1-0");
  EXPECT_EQ(properties.string_or("requestId", ""), "uuid-2-0000000");
  EXPECT_EQ(properties.string_or("metricKey", ""), "uuid-3-0000000");
  EXPECT_EQ(properties.string_or("resourceManagerId", ""), "flint-cli");
  EXPECT_EQ(properties.string_or("deploymentLocation", ""), "lab");
  EXPECT_EQ(properties.string_or("resourceType", ""), "resource::flint-cli::1.0");
  EXPECT_EQ(properties.size(), 7u);
  for (const auto& [name, property] : properties) EXPECT_EQ(property.type(), "string") << name;
}

TEST(CompleteSystemPropertiesTest, KeepsWhatTheStateGives) {
  sdk::PropertyMap properties{{"resourceName", sdk::Property::string("web-1")},
                              {"resourceType", sdk::Property::string("resource::web::2.0")},
                              {"custom", sdk::Property::integer(5)}};
  complete_system_properties(properties, "lab", [] { return std::string("generated-uuid"); });
  EXPECT_EQ(properties.string_or("resourceName", ""), "web-1");
  EXPECT_EQ(properties.string_or("resourceType", ""), "resource::web::2.0");
  EXPECT_EQ(properties.find("custom")->as_integer(), 5);
  EXPECT_EQ(properties.string_or("resourceId", ""), "generated-uuid");
  // Existing entries keep their place; new ones are appended.
  EXPECT_EQ(properties.begin()->first, "resourceName");
  EXPECT_EQ(properties.size(), 8u);
}

}  // namespace
}  // namespace flint::cli
