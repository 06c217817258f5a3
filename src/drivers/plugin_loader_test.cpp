#include "drivers/plugin_loader.hpp"

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <flint/sdk/version.hpp>

namespace flint::drivers {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const fs::path kLibraries = FLINT_TEST_LIBRARIES_DIR;

// A folder holding copies of the named test libraries.
class DriverFolder {
 public:
  explicit DriverFolder(std::initializer_list<std::string> libraries)
      : path_(fs::temp_directory_path() /
              ("flint-plugins-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
    for (const auto& name : libraries) {
      fs::copy_file(kLibraries / (name + ".so"), path_ / (name + ".so"));
    }
  }
  ~DriverFolder() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

TEST(PluginLoader, LoadsEveryDriverOfALibraryWithItsOrigin) {
  DriverFolder folder({"flint_test_driver_good"});
  std::ofstream(folder.path() / "README.txt") << "not a library: ignored";
  DriverCatalog catalog;
  const auto errors = load_driver_libraries({folder.path()}, catalog);
  ASSERT_TRUE(errors.empty()) << errors.front().message;
  ASSERT_EQ(catalog.drivers().size(), 2u);
  const auto* acme = catalog.find("acme");
  ASSERT_NE(acme, nullptr);
  EXPECT_EQ(acme->info.vendor, "Acme");
  EXPECT_EQ(acme->info.version, "1.2.3");
  EXPECT_EQ(acme->origin, (folder.path() / "flint_test_driver_good.so").string());
  EXPECT_NE(catalog.find("acme-any"), nullptr);
}

TEST(PluginLoader, AFolderListedTwiceIsReadOnce) {
  DriverFolder folder({"flint_test_driver_good"});
  const fs::path link = folder.path().string() + "-link";
  fs::create_directory_symlink(folder.path(), link);
  DriverCatalog catalog;
  const auto errors =
      load_driver_libraries({folder.path(), folder.path() / "", link, folder.path()}, catalog);
  fs::remove(link);
  EXPECT_TRUE(errors.empty()) << errors.front().message;
  EXPECT_EQ(catalog.drivers().size(), 2u);
}

TEST(PluginLoader, NamesTheFileAndTheCauseOfEachFailure) {
  DriverFolder folder({"flint_test_driver_good", "flint_test_driver_duplicate",
                       "flint_test_driver_wrong_abi", "flint_test_driver_no_entry",
                       "flint_test_driver_throws"});
  std::ofstream(folder.path() / "broken.so") << "this is not an ELF file";
  // Loaded in name order: the duplicate comes after the good library.
  fs::rename(folder.path() / "flint_test_driver_duplicate.so", folder.path() / "z_duplicate.so");
  DriverCatalog catalog;
  const auto errors = load_driver_libraries({folder.path()}, catalog);
  ASSERT_EQ(errors.size(), 5u);
  // broken, good (loads), no_entry, throws, wrong_abi, z_duplicate.
  EXPECT_EQ(errors[0].file, (folder.path() / "broken.so").string());
  EXPECT_THAT(errors[0].message, HasSubstr("cannot be loaded: "));
  EXPECT_THAT(errors[1].message, HasSubstr("has no entry point 'flint_driver_plugin'"));
  EXPECT_THAT(errors[2].message, HasSubstr("registration failed: cannot read /etc/acme.conf"));
  EXPECT_THAT(errors[3].message,
              HasSubstr("was built for driver ABI 999 but this host speaks ABI " +
                        std::to_string(FLINT_SDK_ABI_VERSION)));
  EXPECT_EQ(errors[4].file, (folder.path() / "z_duplicate.so").string());
  EXPECT_THAT(errors[4].message,
              HasSubstr("registration failed: driver 'acme' is already registered by "));
  EXPECT_THAT(errors[4].message, HasSubstr("flint_test_driver_good.so"));
  // Only the good library's drivers are in; the failed ones left nothing.
  ASSERT_EQ(catalog.drivers().size(), 2u);
  EXPECT_EQ(catalog.find("half-registered"), nullptr);
}

// Code Flint runs must be no one else's to change (as sshd's StrictModes).
TEST(PluginLoader, AFolderOrLibraryOthersMayChangeIsNotLoaded) {
  DriverFolder folder({"flint_test_driver_good"});
  const fs::path library = folder.path() / "flint_test_driver_good.so";
  fs::permissions(folder.path(), fs::perms::all);
  DriverCatalog catalog;
  auto errors = load_driver_libraries({folder.path()}, catalog);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].file, folder.path().string());
  EXPECT_THAT(errors[0].message,
              HasSubstr("drivers.dirs: not loaded: anyone who can could make Flint run their "
                        "code: group or others may write to " +
                        folder.path().string() + " (mode 0777)"));

  fs::permissions(folder.path(), fs::perms::group_write | fs::perms::others_write,
                  fs::perm_options::remove);
  fs::permissions(library, fs::perms::group_write, fs::perm_options::add);
  errors = load_driver_libraries({folder.path()}, catalog);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].file, library.string());
  EXPECT_THAT(errors[0].message, HasSubstr("group or others may write to " + library.string()));
  EXPECT_TRUE(catalog.drivers().empty());

  fs::permissions(library, fs::perms::group_write, fs::perm_options::remove);
  if (::geteuid() == 0) {
    ASSERT_EQ(::chown(library.c_str(), 65534, 65534), 0);
    errors = load_driver_libraries({folder.path()}, catalog);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_THAT(errors[0].message,
                HasSubstr(library.string() + " belongs to user 65534, neither root nor"));
    ASSERT_EQ(::chown(library.c_str(), 0, 0), 0);
  }
  EXPECT_TRUE(load_driver_libraries({folder.path()}, catalog).empty());
  EXPECT_EQ(catalog.drivers().size(), 2u);
}

// Links are followed, and every folder on the way counts but for a sticky one.
TEST(PluginLoader, ALibraryOrFolderReachedThroughSomethingOthersMayChangeIsNotLoaded) {
  DriverFolder folder({});
  DriverFolder elsewhere({"flint_test_driver_good"});
  fs::create_symlink(elsewhere.path() / "flint_test_driver_good.so",
                     folder.path() / "flint_test_driver_good.so");
  fs::permissions(elsewhere.path(), fs::perms::all);  // another user could swap the target
  DriverCatalog catalog;
  auto errors = load_driver_libraries({folder.path()}, catalog);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0].message,
              HasSubstr("group or others may write to " + elsewhere.path().string()));
  fs::permissions(elsewhere.path(), fs::perms::sticky_bit, fs::perm_options::add);
  EXPECT_TRUE(load_driver_libraries({folder.path()}, catalog).empty());  // like /tmp

  DriverFolder parent({});
  const fs::path nested = parent.path() / "drivers";
  fs::create_directory(nested);
  fs::copy_file(kLibraries / "flint_test_driver_good.so", nested / "flint_test_driver_good.so");
  fs::permissions(parent.path(), fs::perms::all);  // another user could rename `drivers`
  DriverCatalog other;
  errors = load_driver_libraries({nested}, other);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0].message,
              HasSubstr("group or others may write to " + parent.path().string()));
}

TEST(PluginLoader, AMissingFolderIsAnError) {
  DriverCatalog catalog;
  const auto errors = load_driver_libraries({"/nonexistent/flint-drivers"}, catalog);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].file, "/nonexistent/flint-drivers");
  EXPECT_THAT(errors[0].message, HasSubstr("not a folder"));
}

}  // namespace
}  // namespace flint::drivers
