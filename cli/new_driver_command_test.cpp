// `flint new-driver`: the scaffolded project is examples/driver-template, renamed.

#include "new_driver_command.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

namespace flint::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

using Tree = std::map<std::string, std::string>;  // relative path -> content

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Every regular file under `root`, leaving out build*/ at the root as the
// embedding step does.
Tree read_tree(const fs::path& root) {
  Tree tree;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    const std::string relative = it->path().lexically_relative(root).generic_string();
    if (it.depth() == 0 && it->is_directory() && relative.starts_with("build")) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) tree[relative] = read_file(it->path());
  }
  return tree;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

class NewDriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("flint-new-driver-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  int run(const std::string& name, const std::string& kind, const fs::path& output) {
    return run_new_driver_command({name, kind, output.string()}, out_, err_);
  }

  fs::path dir_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST(DriverClassName, IsTheCamelCaseOfTheName) {
  EXPECT_EQ(driver_class_name("template"), kTemplateClassName);
  EXPECT_EQ(driver_class_name("demo"), "Demo");
  EXPECT_EQ(driver_class_name("acme-box_2"), "AcmeBox2");
  EXPECT_EQ(driver_class_name("a--b"), "AB");
  EXPECT_EQ(driver_class_name("3par"), "Driver3par");
  EXPECT_EQ(driver_class_name("x9"), "X9");
}

TEST(SubstituteDriverName, ReplacesBothFormsInOnePass) {
  EXPECT_EQ(substitute_driver_name("flint-driver-template.so TemplateDriver", "acme-box"),
            "flint-driver-acme-box.so AcmeBoxDriver");
  // A name that contains the token is not substituted again.
  EXPECT_EQ(substitute_driver_name("template/Template", "my-template"), "my-template/MyTemplate");
  EXPECT_EQ(substitute_driver_name("TEMPLATE templat", "demo"), "TEMPLATE templat");
}

TEST(SubstituteDriverName, KeepsContinuationLinesAlignedWithTheirParenthesis) {
  EXPECT_EQ(substitute_driver_name("TemplateDriver::TemplateDriver(int a,\n"
                                   "                               int b)\n"
                                   "    : a_(a) {}\n",
                                   "ab"),
            "AbDriver::AbDriver(int a,\n"
            "                   int b)\n"
            "    : a_(a) {}\n");
  // Nested: only lines aligned with the innermost open parenthesis move, back out as it closes.
  EXPECT_EQ(substitute_driver_name("f(g(TemplateDriver(1,\n"
                                   "                   2),\n"
                                   "    3),\n"
                                   "  4);",
                                   "a-long-name"),
            "f(g(ALongNameDriver(1,\n"
            "                    2),\n"
            "    3),\n"
            "  4);");
}

TEST(DriverTemplateFiles, AreTheExampleOnDisk) {
  Tree embedded;
  for (const EmbeddedFile& file : driver_template_files()) {
    embedded[std::string(file.path)] = std::string(file.content);
  }
  EXPECT_EQ(embedded, read_tree(FLINT_DRIVER_TEMPLATE_DIR))
      << "rebuild flint_cli: examples/driver-template changed";
  EXPECT_TRUE(embedded.contains("CMakeLists.txt"));
  EXPECT_TRUE(embedded.contains("src/template_driver.hpp"));
}

TEST_F(NewDriverTest, TheTemplateNameReproducesTheExampleByteForByte) {
  ASSERT_EQ(run("template", "resource", dir_ / "out"), 0) << err_.str();
  EXPECT_EQ(err_.str(), "");
  const Tree example = read_tree(FLINT_DRIVER_TEMPLATE_DIR);
  const Tree scaffolded = read_tree(dir_ / "out");
  ASSERT_EQ(scaffolded.size(), example.size());
  for (const auto& [path, content] : example) {
    ASSERT_TRUE(scaffolded.contains(path)) << path;
    EXPECT_TRUE(scaffolded.at(path) == content) << path << " differs";
  }
  EXPECT_THAT(out_.str(), HasSubstr("Created the resource driver 'template' in " +
                                    (dir_ / "out").generic_string() + ":\n"));
  EXPECT_THAT(out_.str(), HasSubstr("  " + (dir_ / "out" / "CMakeLists.txt").generic_string()));
}

TEST_F(NewDriverTest, AnotherNameRenamesPathsAndContentsConsistently) {
  ASSERT_EQ(run("acme-box", "resource", dir_ / "acme"), 0) << err_.str();
  const Tree example = read_tree(FLINT_DRIVER_TEMPLATE_DIR);
  const Tree scaffolded = read_tree(dir_ / "acme");
  Tree expected;
  for (const auto& [path, content] : example) {
    expected[substitute_driver_name(path, "acme-box")] =
        substitute_driver_name(content, "acme-box");
  }
  EXPECT_EQ(scaffolded, expected);
  for (const auto& [path, content] : scaffolded) {
    EXPECT_EQ(lower(path).find("template"), std::string::npos) << path;
    EXPECT_EQ(lower(content).find("template"), std::string::npos) << path;
  }
  ASSERT_TRUE(scaffolded.contains("src/acme-box_driver.hpp"));
  ASSERT_TRUE(scaffolded.contains("src/acme-box_driver.cpp"));
  ASSERT_TRUE(scaffolded.contains("tests/acme-box_driver_test.cpp"));
  EXPECT_THAT(scaffolded.at("src/acme-box_driver.hpp"), HasSubstr("class AcmeBoxDriver final"));
  EXPECT_THAT(scaffolded.at("src/acme-box_driver.cpp"),
              HasSubstr("#include \"acme-box_driver.hpp\""));
  EXPECT_THAT(scaffolded.at("src/acme-box_driver.cpp"), HasSubstr(".name = \"acme-box\""));
  EXPECT_THAT(scaffolded.at("src/plugin.cpp"), HasSubstr("driver::AcmeBoxDriver::info()"));
  EXPECT_THAT(scaffolded.at("CMakeLists.txt"), HasSubstr("OUTPUT_NAME flint-driver-acme-box"));
  EXPECT_THAT(scaffolded.at("CMakeLists.txt"), HasSubstr("src/acme-box_driver.cpp"));
  EXPECT_THAT(scaffolded.at("CMakeLists.txt"), HasSubstr("tests/acme-box_driver_test.cpp"));
  EXPECT_THAT(scaffolded.at("README.md"), HasSubstr("acme-box.work_duration: 2s"));
  EXPECT_THAT(scaffolded.at("README.md"), HasSubstr("driver: acme-box\n"));
}

TEST_F(NewDriverTest, AnExistingEmptyDirectoryIsFilled) {
  fs::create_directories(dir_ / "empty");
  ASSERT_EQ(run("demo", "resource", dir_ / "empty"), 0) << err_.str();
  EXPECT_TRUE(fs::is_regular_file(dir_ / "empty" / "src" / "demo_driver.cpp"));
}

TEST_F(NewDriverTest, TheOutputDefaultsToTheNameInTheWorkingDirectory) {
  CLI::App app;
  NewDriverOptions options;
  add_new_driver_command(app, options);
  app.parse(std::string("new-driver demo --kind resource"), false);
  EXPECT_EQ(options.name, "demo");
  EXPECT_EQ(options.kind, "resource");
  EXPECT_EQ(options.output, "");

  const fs::path previous = fs::current_path();
  fs::current_path(dir_);
  const int status = run_new_driver_command(options, out_, err_);
  fs::current_path(previous);
  ASSERT_EQ(status, 0) << err_.str();
  EXPECT_TRUE(fs::is_regular_file(dir_ / "demo" / "CMakeLists.txt"));
  EXPECT_THAT(out_.str(), HasSubstr("  demo/CMakeLists.txt\n"));
  EXPECT_THAT(out_.str(),
              HasSubstr("cmake -S demo -B demo/build -DCMAKE_PREFIX_PATH=<sdk prefix>"));
}

TEST_F(NewDriverTest, TheKindIsRequired) {
  CLI::App app;
  NewDriverOptions options;
  add_new_driver_command(app, options);
  EXPECT_THROW(app.parse(std::string("new-driver demo"), false), CLI::RequiredError);
}

TEST_F(NewDriverTest, AnInvalidNameIsRefusedWithTheRule) {
  for (const std::string& name : std::vector<std::string>{"Acme", "", "-acme", "acme box",
                                                          "acme.box", std::string(65, 'a')}) {
    err_.str("");
    EXPECT_EQ(run(name, "resource", dir_ / "out"), 2) << name;
    EXPECT_EQ(err_.str(), "flint: invalid driver name '" + name +
                              "': a driver name has 1 to 64 characters: lower-case letters, "
                              "digits, '_' and '-', starting with a letter or a digit\n");
    EXPECT_FALSE(fs::exists(dir_ / "out"));
  }
}

TEST_F(NewDriverTest, OnlyResourceDriversCanBeScaffolded) {
  EXPECT_EQ(run("demo", "infrastructure", dir_ / "out"), 2);
  EXPECT_EQ(err_.str(),
            "flint: cannot scaffold infrastructure drivers: the scaffold has a template for "
            "resource drivers only (write an infrastructure driver as docs/driver-guide.md shows; "
            "--kind resource)\n");
  err_.str("");
  EXPECT_EQ(run("demo", "storage", dir_ / "out"), 2);
  EXPECT_EQ(err_.str(),
            "flint: cannot scaffold storage drivers: Flint cannot host them yet (--kind "
            "resource)\n");
  err_.str("");
  EXPECT_EQ(run("demo", "vim", dir_ / "out"), 2);
  EXPECT_EQ(err_.str(),
            "flint: unknown driver kind 'vim': the scaffold makes resource drivers (--kind "
            "resource)\n");
  EXPECT_FALSE(fs::exists(dir_ / "out"));
  EXPECT_EQ(out_.str(), "");
}

TEST_F(NewDriverTest, ANonEmptyDirectoryOrAFileIsNotOverwritten) {
  fs::create_directories(dir_ / "busy");
  std::ofstream(dir_ / "busy" / "CMakeLists.txt") << "mine\n";
  EXPECT_EQ(run("demo", "resource", dir_ / "busy"), 2);
  EXPECT_EQ(err_.str(), "flint: " + (dir_ / "busy").string() +
                            " exists and is not empty: choose another --output or remove it\n");
  EXPECT_EQ(read_tree(dir_ / "busy"), (Tree{{"CMakeLists.txt", "mine\n"}}));

  err_.str("");
  std::ofstream(dir_ / "file") << "x";
  EXPECT_EQ(run("demo", "resource", dir_ / "file"), 2);
  EXPECT_EQ(err_.str(), "flint: " + (dir_ / "file").string() + " exists and is not a directory\n");
  EXPECT_EQ(read_file(dir_ / "file"), "x");
  EXPECT_EQ(out_.str(), "");

  err_.str("");  // a directory that cannot be made: the system's reason, not the library's words
  EXPECT_EQ(run("demo", "resource", dir_ / "file" / "demo"), 2);
  EXPECT_EQ(err_.str(),
            "flint: cannot create " + (dir_ / "file" / "demo").string() + ": Not a directory\n");
  EXPECT_EQ(read_file(dir_ / "file"), "x");
}

}  // namespace
}  // namespace flint::cli
