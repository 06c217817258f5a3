#include "script/script_catalog.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <flint/sdk/errors.hpp>

#include "script/test_support.hpp"

namespace flint::drivers::script {
namespace {

using ::testing::ElementsAre;
using testing::FilePermissionsApply;
using ::testing::HasSubstr;
using testing::TempDir;
using testing::write_package_file;

class ScriptCatalogTest : public ::testing::Test {
 protected:
  sdk::DirectoryTree tree() const { return sdk::DirectoryTree(dir_.path()); }
  std::string script(const std::string& relative) const {
    return (dir_.path() / relative).string();
  }
  void manifest(std::string_view json) {
    write_package_file(dir_.path(), "scripts/manifest.json", json);
  }

  template <typename Error, typename Call>
  static std::string message_of(Call call) {
    try {
      call();
    } catch (const Error& error) {
      return error.what();
    }
    return "<no error>";
  }

  TempDir dir_;
};

TEST_F(ScriptCatalogTest, ShellScriptsDefineLifecyclesAndFind) {
  write_package_file(dir_.path(), "scripts/Create.sh", "exit 0\n");
  write_package_file(dir_.path(), "scripts/Delete.sh", "exit 0\n");
  write_package_file(dir_.path(), "scripts/Find.sh", "exit 0\n");
  write_package_file(dir_.path(), "scripts/helper.py", "print()\n");
  const ScriptCatalog catalog(tree(), "/bin/sh");
  EXPECT_FALSE(catalog.has_manifest());
  EXPECT_THAT(catalog.lifecycle_names(), ElementsAre("Create", "Delete"));
  const auto& create = catalog.lifecycle("Create");
  EXPECT_THAT(create.argv, ElementsAre("/bin/sh", script("scripts/Create.sh")));
  EXPECT_FALSE(create.timeout.has_value());
  EXPECT_EQ(create.origin, "scripts/Create.sh");
  // Case-insensitive fallback for .sh files.
  EXPECT_THAT(catalog.lifecycle("delete").argv,
              ElementsAre("/bin/sh", script("scripts/Delete.sh")));
  ASSERT_TRUE(catalog.find().has_value());
  EXPECT_THAT(catalog.find()->argv, ElementsAre("/bin/sh", script("scripts/Find.sh")));
}

TEST_F(ScriptCatalogTest, FindIsReservedInAnyCase) {
  write_package_file(dir_.path(), "scripts/Create.sh", "exit 0\n");
  write_package_file(dir_.path(), "scripts/find.sh", "exit 0\n");
  const ScriptCatalog catalog(tree(), "/bin/sh");
  EXPECT_THAT(catalog.lifecycle_names(), ElementsAre("Create"));
  ASSERT_TRUE(catalog.find().has_value());
  EXPECT_THAT(catalog.find()->argv, ElementsAre("/bin/sh", script("scripts/find.sh")));
}

TEST_F(ScriptCatalogTest, UnknownLifecycleListsTheAvailableOnes) {
  write_package_file(dir_.path(), "scripts/Create.sh", "exit 0\n");
  write_package_file(dir_.path(), "scripts/Install.sh", "exit 0\n");
  const ScriptCatalog catalog(tree(), "/bin/sh");
  EXPECT_EQ(message_of<sdk::InvalidLifecycleNameError>([&] { catalog.lifecycle("Upgrade"); }),
            "invalid lifecycle name \"Upgrade\": the driver files define Create, Install "
            "(scripts/<Name>.sh)");
  EXPECT_FALSE(catalog.find().has_value());

  TempDir empty;
  const ScriptCatalog none(sdk::DirectoryTree(empty.path()), "/bin/sh");
  EXPECT_THAT(message_of<sdk::InvalidLifecycleNameError>([&] { none.lifecycle("Create"); }),
              HasSubstr("no lifecycle (no scripts/<Name>.sh file)"));
}

TEST_F(ScriptCatalogTest, AmbiguousCaseInsensitiveMatchIsRefused) {
  write_package_file(dir_.path(), "scripts/Start.sh", "exit 0\n");
  write_package_file(dir_.path(), "scripts/START.sh", "exit 0\n");
  const ScriptCatalog catalog(tree(), "/bin/sh");
  EXPECT_THAT(message_of<sdk::InvalidLifecycleNameError>([&] { catalog.lifecycle("start"); }),
              HasSubstr("matches several scripts ignoring case"));
  EXPECT_EQ(catalog.lifecycle("START").origin, "scripts/START.sh");
}

TEST_F(ScriptCatalogTest, ManifestCommandsResolvePackageFiles) {
  write_package_file(dir_.path(), "scripts/create.py", "print()\n");
  write_package_file(dir_.path(), "scripts/lib/find.py", "print()\n");
  write_package_file(dir_.path(), "scripts/Delete.sh", "exit 0\n");
  write_package_file(dir_.path(), "scripts/Other.sh", "exit 0\n");
  manifest(R"({
    "description": "test package",
    "lifecycles": {
      "Create": {"command": ["python3", "create.py", "--verbose", "not-a-file", "/etc/hosts"],
                 "timeoutSeconds": 600},
      "Delete": {"timeoutSeconds": 30}
    },
    "find": {"command": ["/usr/bin/python3", "lib/find.py"]}
  })");
  const ScriptCatalog catalog(tree(), "/bin/bash");
  EXPECT_TRUE(catalog.has_manifest());
  EXPECT_THAT(catalog.lifecycle_names(), ElementsAre("Create", "Delete"));
  const auto& create = catalog.lifecycle("Create");
  EXPECT_THAT(create.argv, ElementsAre("python3", script("scripts/create.py"), "--verbose",
                                       "not-a-file", "/etc/hosts"));
  EXPECT_EQ(create.timeout, std::chrono::seconds(600));
  EXPECT_EQ(create.origin, "scripts/manifest.json lifecycles.Create");
  EXPECT_THAT(catalog.lifecycle("Delete").argv,
              ElementsAre("/bin/bash", script("scripts/Delete.sh")));
  EXPECT_EQ(catalog.lifecycle("Delete").timeout, std::chrono::seconds(30));
  // With a manifest, only what it lists exists, matched exactly.
  EXPECT_THAT(message_of<sdk::InvalidLifecycleNameError>([&] { catalog.lifecycle("Other"); }),
              HasSubstr("the driver files define Create, Delete (in scripts/manifest.json)"));
  EXPECT_THROW(catalog.lifecycle("create"), sdk::InvalidLifecycleNameError);
  ASSERT_TRUE(catalog.find().has_value());
  EXPECT_THAT(catalog.find()->argv, ElementsAre("/usr/bin/python3", script("scripts/lib/find.py")));
}

TEST_F(ScriptCatalogTest, InvalidManifestsNameTheField) {
  write_package_file(dir_.path(), "scripts/create.sh", "exit 0\n");
  auto error = [&](std::string_view json) {
    manifest(json);
    return message_of<sdk::InvalidDriverFilesError>([&] { ScriptCatalog(tree(), "/bin/sh"); });
  };
  EXPECT_THAT(error("{"), HasSubstr("scripts/manifest.json: not valid JSON"));
  EXPECT_EQ(error("[]"), "scripts/manifest.json: expected a JSON object");
  EXPECT_EQ(error(R"({"lifecyles": {}})"), "scripts/manifest.json: lifecyles: unknown field");
  EXPECT_EQ(error(R"({"lifecycles": []})"),
            "scripts/manifest.json: lifecycles: expected an object of name -> entry");
  EXPECT_EQ(error(R"({"lifecycles": {"Create": {"command": "sh create.sh"}}})"),
            "scripts/manifest.json: lifecycles.Create.command: expected a non-empty array of "
            "strings (an argv)");
  EXPECT_EQ(error(R"({"lifecycles": {"Create": {"command": ["sh", 3]}}})"),
            "scripts/manifest.json: lifecycles.Create.command[1]: expected a string");
  EXPECT_THAT(error(R"({"lifecycles": {"Create": {"command": ["create.sh"]}}})"),
              HasSubstr("lifecycles.Create.command[0]: package files cannot be run directly"));
  EXPECT_THAT(error(R"({"lifecycles": {"Create": {"command": ["sh"], "timeoutSeconds": 0}}})"),
              HasSubstr("lifecycles.Create.timeoutSeconds: expected an integer from 1 to"));
  EXPECT_THAT(error(R"({"lifecycles": {"Create": {"command": ["sh"], "timeoutSeconds": "5"}}})"),
              HasSubstr("lifecycles.Create.timeoutSeconds: expected an integer"));
  EXPECT_EQ(error(R"({"lifecycles": {"Install": {}}})"),
            "scripts/manifest.json: lifecycles.Install: no \"command\" and no "
            "scripts/Install.sh to run by default");
  EXPECT_EQ(error(R"({"find": {"command": ["sh"], "timeout": 5}})"),
            "scripts/manifest.json: find.timeout: unknown field");
}

// A package that cannot be read now (out of descriptors, an I/O error; here
// a permission) is not an invalid one: "no such lifecycle" or "bad manifest"
// (400) would tell the orchestrator not to retry, and "no Find script" that
// nothing exists. The host's trouble, to retry (503).
TEST_F(ScriptCatalogTest, APackageThatCannotBeReadNowIsTheHostsTemporaryTrouble) {
  write_package_file(dir_.path(), "scripts/Create.sh", "exit 0\n");
  write_package_file(dir_.path(), "scripts/Find.sh", "exit 0\n");
  const auto scripts = dir_.path() / "scripts";
  std::filesystem::permissions(scripts, std::filesystem::perms::owner_exec);  // not listable
  {
    FilePermissionsApply permissions;
    EXPECT_EQ(message_of<sdk::TemporaryHostError>([&] { ScriptCatalog(tree(), "/bin/sh"); }),
              "script driver: cannot list " + scripts.string() + ": Permission denied");
  }
  std::filesystem::permissions(scripts, std::filesystem::perms::owner_all);
  manifest(R"({"lifecycles": {"Create": {}}})");
  std::filesystem::permissions(scripts / "manifest.json", std::filesystem::perms::none);
  {
    FilePermissionsApply permissions;
    EXPECT_EQ(message_of<sdk::TemporaryHostError>([&] { ScriptCatalog(tree(), "/bin/sh"); }),
              "script driver: cannot read " + (scripts / "manifest.json").string() +
                  ": Permission denied");
  }
  std::filesystem::permissions(scripts / "manifest.json", std::filesystem::perms::owner_read);
  EXPECT_EQ(ScriptCatalog(tree(), "/bin/sh").lifecycle_names(), std::vector<std::string>{"Create"});
}

}  // namespace
}  // namespace flint::drivers::script
