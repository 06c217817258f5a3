// The `flint` command line: usage errors exit 2, --help and --version 0.

#include "command_line.hpp"

#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <flint/sdk/version.hpp>

namespace flint::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Parsed {
  std::optional<int> status;
  std::string out;
  std::string err;
};

Parsed parse(CommandLine& command_line, std::vector<std::string> args) {
  args.insert(args.begin(), "flint");
  std::vector<const char*> argv;
  for (const auto& arg : args) argv.push_back(arg.c_str());
  std::ostringstream out;
  std::ostringstream err;
  const auto status = command_line.parse(static_cast<int>(argv.size()), argv.data(), out, err);
  return {status, out.str(), err.str()};
}

Parsed parse(std::vector<std::string> args) {
  CommandLine command_line;
  return parse(command_line, std::move(args));
}

struct UsageError {
  std::vector<std::string> args;
  std::string message;  // the whole line on stderr
};

// Failures name the command line rather than dump bytes.
void PrintTo(const UsageError& error, std::ostream* os) {
  *os << "flint";
  for (const auto& arg : error.args) *os << ' ' << arg;
}

class UsageErrorTest : public ::testing::TestWithParam<UsageError> {};

TEST_P(UsageErrorTest, ExitsTwoWithOneLineNamingTheHelp) {
  const auto parsed = parse(GetParam().args);
  EXPECT_EQ(parsed.status, 2);
  EXPECT_EQ(parsed.err, GetParam().message + "\n");
  EXPECT_EQ(parsed.out, "");
}

INSTANTIATE_TEST_SUITE_P(
    EveryCommand, UsageErrorTest,
    ::testing::Values(
        UsageError{{}, "flint: A subcommand is required (see flint --help)"},
        UsageError{{"bogus"}, "flint: unknown command \"bogus\" (see flint --help)"},
        UsageError{{"exce", "Create"}, "flint: unknown command \"exce\" (see flint --help)"},
        UsageError{{"--bogus"},
                   "flint: The following argument was not expected: --bogus (see flint --help)"},
        UsageError{{"serve", "--bogus"},
                   "flint: The following argument was not expected: --bogus (see flint serve "
                   "--help)"},
        UsageError{{"config", "--config"},
                   "flint: --config: 1 required TEXT missing (see flint config --help)"},
        UsageError{{"version", "now"},
                   "flint: The following argument was not expected: now (see flint version "
                   "--help)"},
        UsageError{{"exec"}, "flint: lifecycle is required (see flint exec --help)"},
        UsageError{{"exec", "Create"}, "flint: --driver-files is required (see flint exec --help)"},
        UsageError{{"find", "x", "--driver-files", "d", "--bogus"},
                   "flint: The following argument was not expected: --bogus (see flint find "
                   "--help)"},
        UsageError{{"infra"}, "flint: A subcommand is required (see flint infra --help)"},
        UsageError{{"infra", "craete"},
                   "flint: unknown command \"infra craete\" (see flint infra --help)"},
        UsageError{{"infra", "find", "web"},
                   "flint: --template is required (see flint infra find --help)"},
        UsageError{{"infra", "query", "inf-1"},
                   "flint: request_id is required (see flint infra query --help)"},
        UsageError{{"events", "--after", "abc"},
                   "flint: --after: expected an integer from 0 to 9223372036854775807, got abc "
                   "(see flint events --help)"},
        UsageError{{"executions", "--limit", "abc"},
                   "flint: --limit: expected an integer from 1 to 1000000, got abc "
                   "(see flint executions --help)"},
        UsageError{{"events", "--after", "-1"},
                   "flint: --after: expected an integer from 0 to 9223372036854775807, got -1 "
                   "(see flint events --help)"},
        UsageError{{"exec", "Create", "--driver-files", "d", "--tenant", "a\r\nX-Evil: 1"},
                   "flint: --tenant: must not hold a control character (a line break would "
                   "start another header) (see flint exec --help)"},
        UsageError{{"exec", "Create", "--driver-files", "d", "--tenant", "   "},
                   "flint: --tenant: must not start or end with a space (HTTP drops it: the "
                   "server would see another tenant, or none) (see flint exec --help)"},
        UsageError{{"infra", "delete", "inf-1", "--tenant", "caf\xff"},
                   "flint: --tenant: must be UTF-8 text (see flint infra delete --help)"},
        UsageError{{"drivers", "extra"},
                   "flint: The following argument was not expected: extra (see flint drivers "
                   "--help)"},
        UsageError{{"new-driver", "acme"},
                   "flint: --kind is required (see flint new-driver --help)"},
        UsageError{{"--url", "http://x", "health"},
                   "flint: option --url goes after the command: flint health --url ... (see "
                   "flint health --help)"},
        UsageError{{"--config=a.yaml", "serve"},
                   "flint: option --config goes after the command: flint serve --config ... "
                   "(see flint serve --help)"},
        UsageError{{"--bogus", "serve"},
                   "flint: The following argument was not expected: --bogus (see flint serve "
                   "--help)"}));

TEST(CommandLineTest, HelpAndVersionExitZeroOnStdout) {
  auto parsed = parse({"--help"});
  EXPECT_EQ(parsed.status, 0);
  EXPECT_THAT(parsed.out, HasSubstr("new-driver"));
  EXPECT_EQ(parsed.err, "");

  parsed = parse({"infra", "create", "--help"});
  EXPECT_EQ(parsed.status, 0);
  EXPECT_THAT(parsed.out, HasSubstr("--template"));
  EXPECT_EQ(parsed.err, "");

  parsed = parse({"--version"});
  EXPECT_EQ(parsed.status, 0);
  EXPECT_THAT(parsed.out, StartsWith(FLINT_SDK_VERSION_STRING));
}

TEST(CommandLineTest, AValidCommandLineIsLeftToRun) {
  CommandLine exec;
  auto parsed = parse(exec, {"exec", "Create", "--driver-files", "pkg", "--json"});
  EXPECT_EQ(parsed.status, std::nullopt) << parsed.err;
  EXPECT_EQ(exec.command(), Command::exec);
  EXPECT_EQ(exec.exec.lifecycle, "Create");
  EXPECT_TRUE(exec.exec.json);

  CommandLine infra;
  parsed = parse(infra, {"infra", "query", "inf-1", "req-1"});
  EXPECT_EQ(parsed.status, std::nullopt) << parsed.err;
  EXPECT_EQ(infra.command(), Command::infra);
  EXPECT_EQ(infra.infra.action, InfraAction::query);

  CommandLine serve;
  parsed = parse(serve, {"serve", "-c", "flint.yaml"});
  EXPECT_EQ(parsed.status, std::nullopt) << parsed.err;
  EXPECT_EQ(serve.command(), Command::serve);
  EXPECT_EQ(serve.config_file, "flint.yaml");
}

}  // namespace
}  // namespace flint::cli
