#include "config/config_schema.hpp"

#include <fstream>
#include <stdexcept>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config_error.hpp"
#include "config/config_error_testing.hpp"
#include "config/units.hpp"

namespace flint::config {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

ConfigSchema test_schema() {
  ConfigSchema schema;
  schema.add("server.port", OptionSpec::integer(8080, "port", {.min = 0, .max = 65535}))
      .add("server.host", OptionSpec::string("localhost", "host"))
      .add("server.tls.enabled", OptionSpec::boolean(false, "tls"))
      .add("server.read_timeout", OptionSpec::duration(std::chrono::seconds(30), "timeout"))
      .add("server.max_body", OptionSpec::size(1 * MiB, "body", {.min = 1}))
      .add("log.level", OptionSpec::enumeration("info", {"debug", "info", "error"}, "level"))
      .add("kafka.brokers", OptionSpec::string_list({"localhost:9092"}, "brokers"))
      .add("kafka.config", OptionSpec::string_map({}, "pass-through"))
      .add("kafka.password", OptionSpec::string("", "password").as_secret())
      .add_env_alias("LOG_LEVEL", "log.level")
      .set_config_file_variable("FLINT_CONFIG");
  return schema;
}

using testing::errors_of;

class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    path_ = std::filesystem::temp_directory_path() /
            ("flint_config_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++) +
             ".yaml");
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

TEST(ConfigSchema, DefaultsWhenNothingIsSet) {
  const auto values = test_schema().load(std::nullopt, {});
  EXPECT_EQ(values.get<std::int64_t>("server.port"), 8080);
  EXPECT_EQ(values.get<std::string>("server.host"), "localhost");
  EXPECT_EQ(values.get<bool>("server.tls.enabled"), false);
  EXPECT_EQ(values.get<milliseconds>("server.read_timeout"), milliseconds(30'000));
  EXPECT_EQ(values.get<std::uint64_t>("server.max_body"), MiB);
  EXPECT_EQ(values.get<std::vector<std::string>>("kafka.brokers"),
            std::vector<std::string>{"localhost:9092"});
  EXPECT_EQ(values.source("server.port").kind, ValueSource::Kind::default_value);
  EXPECT_EQ(values.file(), std::nullopt);
  EXPECT_THROW((void)values.value("server.nope"), std::out_of_range);
}

TEST(ConfigSchema, ReadsEveryTypeFromAFile) {
  TempFile file(R"(
server:
  port: 9000
  host: 0.0.0.0
  tls:
    enabled: yes
  read_timeout: 250ms
  max_body: 16KiB
log:
  level: DEBUG
kafka:
  brokers: [a:1, b:2]
  config:
    security.protocol: SSL
    linger.ms: 5
)");
  const auto values = test_schema().load(file.path(), {});
  EXPECT_EQ(values.get<std::int64_t>("server.port"), 9000);
  EXPECT_EQ(values.get<std::string>("server.host"), "0.0.0.0");
  EXPECT_TRUE(values.get<bool>("server.tls.enabled"));
  EXPECT_EQ(values.get<milliseconds>("server.read_timeout"), milliseconds(250));
  EXPECT_EQ(values.get<std::uint64_t>("server.max_body"), 16 * KiB);
  EXPECT_EQ(values.get<std::string>("log.level"), "debug");
  EXPECT_THAT(values.get<std::vector<std::string>>("kafka.brokers"), ElementsAre("a:1", "b:2"));
  EXPECT_EQ(values.get<StringMap>("kafka.config"),
            (StringMap{{"security.protocol", "SSL"}, {"linger.ms", "5"}}));
  EXPECT_EQ(values.source("server.port").kind, ValueSource::Kind::file);
  EXPECT_EQ(values.source("server.port").line, 3);
  EXPECT_EQ(values.file(), file.path());
}

TEST(ConfigSchema, EmptyFileAndEmptySectionsSetNothing) {
  EXPECT_EQ(test_schema().load_text("", {}).get<std::int64_t>("server.port"), 8080);
  EXPECT_EQ(test_schema()
                .load_text("# all commented out\nserver:\n", {})
                .get<std::int64_t>("server.port"),
            8080);
}

TEST(ConfigSchema, UnknownKeysAtAnyDepthWithHints) {
  const auto errors = errors_of([] {
    test_schema().load_text(
        "server:\n  prot: 1\n  tls:\n    enabeld: true\n    extra: 1\nservre:\n  port: 2\n"
        "zzz: 1\n",
        {}, "flint.yaml");
  });
  EXPECT_THAT(errors,
              ElementsAre("unknown key 'server.prot' (file flint.yaml, line 2); did you mean "
                          "'server.port'?",
                          "unknown key 'server.tls.enabeld' (file flint.yaml, line 4); did you "
                          "mean 'server.tls.enabled'?",
                          "unknown key 'server.tls.extra' (file flint.yaml, line 5)",
                          "unknown key 'servre' (file flint.yaml, line 6); did you mean 'server'?",
                          "unknown key 'zzz' (file flint.yaml, line 8)"));
}

TEST(ConfigSchema, HintsTheRightNameInTheWrongSection) {
  const auto errors = errors_of([] { test_schema().load_text("log:\n  max_body: 5\n", {}); });
  EXPECT_THAT(errors, ElementsAre(HasSubstr("unknown key 'log.max_body' (file <text>, line 2); "
                                            "did you mean 'server.max_body'?")));
}

TEST(ConfigSchema, NonMappingWhereASectionIsExpected) {
  const auto errors = errors_of([] { test_schema().load_text("server: 5\nlog: [a]\n", {}); });
  EXPECT_THAT(errors,
              ElementsAre("server: expected a section (a mapping of keys), found \"5\" (file "
                          "<text>, line 1)",
                          "log: expected a section (a mapping of keys), found a list (file "
                          "<text>, line 2)"));
  EXPECT_THAT(errors_of([] { test_schema().load_text("- a\n- b\n", {}, "x.yaml"); }),
              ElementsAre("configuration file 'x.yaml': expected a mapping of sections at the "
                          "top level, found a list"));
}

TEST(ConfigSchema, MistypedValuesNameKeyExpectationAndFinding) {
  const auto errors = errors_of([] {
    test_schema().load_text(R"(server:
  port: eighty
  host: [a]
  tls: {enabled: maybe}
  read_timeout: 5 minutes
  max_body: 1.5MB
log: {level: loud}
kafka:
  brokers: {a: b}
  config: {nested: {x: 1}}
)",
                            {});
  });
  EXPECT_THAT(
      errors,
      ElementsAre(
          R"(server.port: expected an integer, found "eighty" (file <text>, line 2))",
          R"(server.host: expected a string, found a list (file <text>, line 3))",
          R"(server.tls.enabled: expected a boolean (true or false), found "maybe" (file <text>, line 4))",
          R"(server.read_timeout: expected a duration such as 250ms, 30s, 5m, 1h (a bare number means seconds), found "5 minutes" (file <text>, line 5))",
          R"(server.max_body: expected a size such as 512, 16KiB, 64MiB, 1GiB or 10MB, found "1.5MB" (file <text>, line 6))",
          R"(log.level: expected one of: debug, info, error, found "loud" (file <text>, line 7))",
          R"(kafka.brokers: expected a list of strings, found a mapping (file <text>, line 9))",
          R"(kafka.config.nested: expected a string, found a mapping (file <text>, line 10))"));
}

TEST(ConfigSchema, NullScalarIsAnError) {
  EXPECT_THAT(errors_of([] { test_schema().load_text("server:\n  host:\n", {}); }),
              ElementsAre("server.host: expected a string, found null (file <text>, line 2)"));
}

TEST(ConfigSchema, OutOfRangeValues) {
  EXPECT_THAT(errors_of([] { test_schema().load_text("server: {port: 70000, max_body: 0}", {}); }),
              ElementsAre("server.port: 70000 is out of range: expected an integer between 0 "
                          "and 65535 (file <text>, line 1)",
                          HasSubstr("server.max_body: 0 is out of range: expected a size such as "
                                    "512, 16KiB, 64MiB, 1GiB or 10MB of at least 1 (file")));
}

TEST(ConfigSchema, DuplicateKeysAreErrors) {
  EXPECT_THAT(errors_of([] { test_schema().load_text("server:\n  port: 1\n  port: 2\n", {}); }),
              ElementsAre("duplicate key 'server.port' (file <text>, line 3)"));
}

TEST(ConfigSchema, MissingUnreadableAndMalformedFilesAreNamed) {
  EXPECT_THAT(errors_of([] { test_schema().load("/nonexistent/flint.yaml", {}); }),
              ElementsAre("configuration file '/nonexistent/flint.yaml' does not exist"));
  const auto dir = std::filesystem::temp_directory_path();
  EXPECT_THAT(errors_of([&] { test_schema().load(dir, {}); }),
              ElementsAre("configuration file '" + dir.string() + "' is a directory, not a file"));
  TempFile bad("server:\n  port: 1\n   host: x\n");
  EXPECT_THAT(errors_of([&] { test_schema().load(bad.path(), {}); }),
              ElementsAre(HasSubstr("configuration file '" + bad.path().string() +
                                    "': YAML syntax error at line 3, column")));
}

TEST(ConfigSchema, FilesThatAreNotRegularAreRefusedAndReadErrorsReported) {
  // A FIFO would block the start forever; /proc/self/mem fails its first read.
  const auto fifo = std::filesystem::temp_directory_path() /
                    ("flint_config_test_fifo_" + std::to_string(::getpid()));
  std::filesystem::remove(fifo);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THAT(
      errors_of([&] {
        test_schema().load(fifo, {{"FLINT_SERVER_PORT", "x"}});
      }),
      ElementsAre("configuration file '" + fifo.string() + "' is a FIFO, not a regular file",
                  HasSubstr("server.port: expected an integer")));
  std::filesystem::remove(fifo);
  EXPECT_THAT(
      errors_of([] { test_schema().load("/proc/self/mem", {}); }),
      ElementsAre("configuration file '/proc/self/mem' cannot be read: Input/output error"));
  TempFile big(std::string(2 * MiB, '#'));
  EXPECT_THAT(errors_of([&] { test_schema().load(big.path(), {}); }),
              ElementsAre("configuration file '" + big.path().string() + "' is larger than 1MiB"));
}

TEST(ConfigSchema, AnEmptyPathIsAnErrorNotTheDefaults) {
  EXPECT_THAT(errors_of([] { test_schema().load(std::filesystem::path(), {}); }),
              ElementsAre("configuration file: empty path"));
  // The variable's empty value means unset, as documented.
  EXPECT_EQ(test_schema().load(std::nullopt, {{"FLINT_CONFIG", ""}}).file(), std::nullopt);
}

TEST(ConfigSchema, ASecondYamlDocumentIsAnError) {
  // YAML::Load reads the first document only: `foo` would have been ignored unchecked.
  TempFile two("server: {port: 1}\n---\nfoo: bar\n");
  EXPECT_THAT(errors_of([&] { test_schema().load(two.path(), {}); }),
              ElementsAre("configuration file '" + two.path().string() +
                          "': a second YAML document starts at line 2; a configuration file "
                          "holds one document (remove the '---' and merge the sections)"));
  EXPECT_THAT(errors_of([] { test_schema().load_text("a: 1\n...\n# c\n---\n", {}); }),
              ElementsAre(HasSubstr("a second YAML document starts at line 4")));
  // Content after `...` is a second document even without `---`.
  EXPECT_THAT(errors_of([] { test_schema().load_text("server: {port: 1}\n...\nlog: {}\n", {}); }),
              ElementsAre(HasSubstr("a second YAML document starts at line 3")));
  // A syntax error in the second document is reported as such.
  EXPECT_THAT(errors_of([] { test_schema().load_text("log: {}\n---\na: [\n", {}); }),
              ElementsAre(HasSubstr("YAML syntax error at line")));
  // One document, explicitly started and ended, is fine.
  EXPECT_EQ(
      test_schema().load_text("---\nserver: {port: 7}\n...\n", {}).get<std::int64_t>("server.port"),
      7);
  EXPECT_EQ(test_schema().load_text("---\n", {}).get<std::int64_t>("server.port"), 8080);
}

TEST(ConfigSchema, EnvironmentOverridesFileAndDefaults) {
  TempFile file("server:\n  port: 9000\n  host: filehost\n");
  const Environment env{{"FLINT_SERVER_PORT", "9100"},
                        {"FLINT_SERVER_TLS_ENABLED", "true"},
                        {"FLINT_KAFKA_BROKERS", "x:1,y:2"},
                        {"FLINT_KAFKA_CONFIG", "acks=all"},
                        {"PATH", "/usr/bin"},
                        {"FLINTSTONE", "not ours"}};
  const auto values = test_schema().load(file.path(), env);
  EXPECT_EQ(values.get<std::int64_t>("server.port"), 9100);
  EXPECT_EQ(values.get<std::string>("server.host"), "filehost");
  EXPECT_TRUE(values.get<bool>("server.tls.enabled"));
  EXPECT_THAT(values.get<std::vector<std::string>>("kafka.brokers"), ElementsAre("x:1", "y:2"));
  EXPECT_EQ(values.get<StringMap>("kafka.config"), (StringMap{{"acks", "all"}}));
  EXPECT_EQ(values.source("server.port").kind, ValueSource::Kind::environment);
  EXPECT_EQ(values.source("server.port").variable, "FLINT_SERVER_PORT");
  EXPECT_EQ(values.source("server.host").kind, ValueSource::Kind::file);
}

TEST(ConfigSchema, AnEnvironmentStringMapAddsToTheFilesMapKeyByKey) {
  // A secret from the environment must not drop the file's other entries.
  TempFile file("kafka:\n  config:\n    acks: \"1\"\n    linger.ms: \"5\"\n");
  const Environment env{{"FLINT_KAFKA_CONFIG", "acks=all,sasl.password=s3cr3t"}};
  const auto values = test_schema().load(file.path(), env);
  EXPECT_EQ(values.get<StringMap>("kafka.config"),
            (StringMap{{"acks", "all"}, {"linger.ms", "5"}, {"sasl.password", "s3cr3t"}}));
  EXPECT_EQ(values.source("kafka.config").describe(), "file + env FLINT_KAFKA_CONFIG");
  // Without a file entry the environment's map is the whole value.
  const auto alone = test_schema().load(std::nullopt, env);
  EXPECT_EQ(alone.get<StringMap>("kafka.config").size(), 2u);
  EXPECT_EQ(alone.source("kafka.config").describe(), "env FLINT_KAFKA_CONFIG");
}

TEST(ConfigSchema, ConfigFileVariableIsUsedWhenNoFileIsGiven) {
  TempFile from_env("server: {port: 1111}\n");
  TempFile explicit_file("server: {port: 2222}\n");
  const Environment env{{"FLINT_CONFIG", from_env.path().string()}};
  EXPECT_EQ(test_schema().load(std::nullopt, env).get<std::int64_t>("server.port"), 1111);
  EXPECT_EQ(test_schema().load(explicit_file.path(), env).get<std::int64_t>("server.port"), 2222);
  EXPECT_EQ(
      test_schema().load(std::nullopt, {{"FLINT_CONFIG", ""}}).get<std::int64_t>("server.port"),
      8080);
}

TEST(ConfigSchema, AliasesApplyButThePrefixedVariableWins) {
  EXPECT_EQ(
      test_schema().load(std::nullopt, {{"LOG_LEVEL", "ERROR"}}).get<std::string>("log.level"),
      "error");
  const auto both = test_schema().load(
      std::nullopt, {{"LOG_LEVEL", "not even valid"}, {"FLINT_LOG_LEVEL", "debug"}});
  EXPECT_EQ(both.get<std::string>("log.level"), "debug");
  EXPECT_EQ(both.source("log.level").variable, "FLINT_LOG_LEVEL");
  EXPECT_THAT(
      errors_of([] {
        test_schema().load(std::nullopt, {{"LOG_LEVEL", "chatty"}});
      }),
      ElementsAre(
          R"(log.level: expected one of: debug, info, error, found "chatty" (env LOG_LEVEL))"));
}

TEST(ConfigSchema, UnknownPrefixedVariablesAreErrors) {
  EXPECT_THAT(
      errors_of([] {
        test_schema().load(std::nullopt, {{"FLINT_SERVER_PROT", "1"}, {"FLINT_WHATEVER", "x"}});
      }),
      ElementsAre("unknown environment variable FLINT_SERVER_PROT (every FLINT_* variable must "
                  "name a configuration key); did you mean FLINT_SERVER_PORT?",
                  "unknown environment variable FLINT_WHATEVER (every FLINT_* variable must name "
                  "a configuration key)"));
}

TEST(ConfigSchema, ReportsAllErrorsAtOnceFileThenEnvironment) {
  try {
    test_schema().load_text("server:\n  port: x\n  hots: y\nlog: {level: z}\n",
                            {{"FLINT_SERVER_MAX_BODY", "lots"}, {"FLINT_NOPE", "1"}});
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.errors().size(), 5u);
    EXPECT_THAT(e.errors()[0], HasSubstr("server.port"));
    EXPECT_THAT(e.errors()[1], HasSubstr("'server.hots'"));
    EXPECT_THAT(e.errors()[2], HasSubstr("log.level"));
    EXPECT_THAT(e.errors()[3], HasSubstr("FLINT_NOPE"));
    EXPECT_THAT(e.errors()[4], HasSubstr("server.max_body"));
    // what() is every error, one per line.
    std::string joined;
    for (const auto& line : e.errors()) joined += (joined.empty() ? "" : "\n") + line;
    EXPECT_EQ(e.what(), joined);
  }
}

TEST(ConfigSchema, SecretsAreNotEchoedInErrors) {
  ConfigSchema schema;
  schema.add("db.pin", OptionSpec::integer(0, "pin").as_secret());
  const auto errors = errors_of([&] {
    schema.load_text("db: {pin: s3cr3t}", {{"FLINT_DB_PIN", "t0ken"}});
  });
  ASSERT_EQ(errors.size(), 2u);
  for (const auto& error : errors) {
    EXPECT_THAT(error, Not(HasSubstr("s3cr3t")));
    EXPECT_THAT(error, Not(HasSubstr("t0ken")));
    EXPECT_THAT(error, HasSubstr("db.pin: expected an integer"));
  }
}

TEST(ConfigSchema, StringMapValuesAreNotEchoedInErrors) {
  const auto errors = errors_of([] {
    test_schema().load_text("kafka: {config: \"sasl.password=hunter2\"}",
                            {{"FLINT_KAFKA_CONFIG", "sasl.password=hunter2,broken"}});
  });
  EXPECT_THAT(errors, ElementsAre(HasSubstr("kafka.config: expected a mapping of names to "
                                            "strings, found a string (not shown"),
                                  HasSubstr("found entry 2 of 2 without '='")));
  for (const auto& error : errors) EXPECT_THAT(error, Not(HasSubstr("hunter2")));
}

TEST(ConfigSchema, EveryBadEntryOfAStringMapIsReported) {
  EXPECT_THAT(errors_of([] {
                test_schema().load_text(
                    "kafka:\n  config:\n    a: [1]\n    b: x\n    b: y\n"
                    "    c: {d: 1}\n",
                    {});
              }),
              ElementsAre("kafka.config.a: expected a string, found a list (file <text>, line 3)",
                          "kafka.config: duplicate key 'b' (file <text>, line 5)",
                          "kafka.config.c: expected a string, found a mapping (file <text>, "
                          "line 6)"));
}

TEST(ConfigSchema, ValidatorProblemsNameTheEntryAndItsLine) {
  ConfigSchema schema;
  schema.add("client.settings",
             OptionSpec::string_map({}, "settings").with_validator([](const ConfigValue& value) {
               std::vector<ValueProblem> problems;
               for (const auto& [name, text] : std::get<StringMap>(value)) {
                 if (name.rfind("x.", 0) != 0) problems.push_back({name, "unknown setting"});
               }
               if (std::get<StringMap>(value).size() > 3) problems.push_back({"", "too many"});
               return problems;
             }));
  const auto errors = errors_of([&] {
    schema.load_text("client:\n  settings:\n    x.a: 1\n    bad: 2\n    x.b: 3\n    worse: 4\n",
                     {{"FLINT_CLIENT_SETTINGS", "x.ok=1,nope=2"}});
  });
  EXPECT_THAT(errors,
              ElementsAre("client.settings.bad: unknown setting (file <text>, line 4)",
                          "client.settings.worse: unknown setting (file <text>, line 6)",
                          "client.settings: too many (file <text>, line 3)",
                          "client.settings.nope: unknown setting (env FLINT_CLIENT_SETTINGS)"));
  EXPECT_EQ(schema.load_text("client: {settings: {x.a: 1}}", {})
                .get<StringMap>("client.settings")
                .at("x.a"),
            "1");
}

TEST(ConfigSchema, AMaskedSecretInAMapIsReportedWithTheValidatorsProblems) {
  ConfigSchema schema;
  schema.add("client.settings",
             OptionSpec::string_map({}, "settings").with_validator([](const ConfigValue& value) {
               std::vector<ValueProblem> problems;
               for (const auto& [name, text] : std::get<StringMap>(value)) {
                 if (name == "bogus") problems.push_back({name, "unknown setting"});
               }
               return problems;
             }));
  EXPECT_THAT(errors_of([&] {
                schema.load_text("client:\n  settings:\n    x.password: '****'\n    bogus: 1\n",
                                 {});
              }),
              ElementsAre("client.settings.x.password: \"****\" is how flint config prints a "
                          "secret, not its value; give the value itself (file <text>, line 3)",
                          "client.settings.bogus: unknown setting (file <text>, line 4)"));
}

TEST(ConfigSchema, ValidatorProblemsNameTheListItemAndItsLine) {
  ConfigSchema schema;
  schema.add("server.paths",
             OptionSpec::string_list({}, "paths").with_validator([](const ConfigValue& value) {
               std::vector<ValueProblem> problems;
               const auto& items = std::get<std::vector<std::string>>(value);
               for (std::size_t i = 0; i < items.size(); ++i) {
                 if (items[i] == "bad") problems.push_back({"[" + std::to_string(i) + "]", "bad"});
               }
               return problems;
             }));
  EXPECT_THAT(errors_of([&] {
                schema.load_text("server:\n  paths:\n    - ok\n    - bad\n",
                                 {{"FLINT_SERVER_PATHS", "bad,ok"}});
              }),
              ElementsAre("server.paths[1]: bad (file <text>, line 4)",
                          "server.paths[0]: bad (env FLINT_SERVER_PATHS)"));
}

TEST(ConfigSchema, ReservedVariablesAreAcceptedCheckedAndNeverShown) {
  auto schema = test_schema();
  schema.add_reserved_variable("FLINT_SEAL_KEY", [](std::string_view value) {
    return value.size() == 4 ? std::nullopt : std::optional<std::string>("expected 4 characters");
  });
  schema.add_reserved_variable("FLINT_OTHER");
  const auto values = schema.load(std::nullopt, {{"FLINT_SEAL_KEY", "s3cr"}, {"FLINT_OTHER", "x"}});
  EXPECT_THAT(values.reserved_variables(), ElementsAre("FLINT_OTHER", "FLINT_SEAL_KEY"));
  const auto yaml = schema.effective_yaml(values);
  EXPECT_THAT(yaml, HasSubstr("\n# FLINT_SEAL_KEY is set (value not shown)\n"));
  EXPECT_THAT(yaml, Not(HasSubstr("s3cr")));
  EXPECT_NO_THROW(schema.load_text(yaml, {}));
  // Checked, and never echoed; empty means unset.
  EXPECT_THAT(errors_of([&] {
                schema.load(std::nullopt, {{"FLINT_SEAL_KEY", "t0ken!"}});
              }),
              ElementsAre("FLINT_SEAL_KEY: expected 4 characters"));
  EXPECT_THAT(schema.load(std::nullopt, {{"FLINT_SEAL_KEY", ""}}).reserved_variables(),
              ::testing::IsEmpty());
  // A near miss gets a hint.
  EXPECT_THAT(errors_of([&] {
                schema.load(std::nullopt, {{"FLINT_SEAL_KYE", "s3cr"}});
              }),
              ElementsAre(HasSubstr("did you mean FLINT_SEAL_KEY?")));
}

TEST(ConfigSchema, CrossChecksRunWhenEveryValueIsValid) {
  auto schema = test_schema();
  schema.add_check([](const ConfigValues& values, std::vector<std::string>& errors) {
    if (values.get<bool>("server.tls.enabled") && values.get<std::int64_t>("server.port") == 80) {
      errors.push_back("server.tls.enabled: TLS on port 80 is surely a mistake");
    }
  });
  EXPECT_THAT(errors_of([&] { schema.load_text("server: {port: 80, tls: {enabled: true}}", {}); }),
              ElementsAre("server.tls.enabled: TLS on port 80 is surely a mistake"));
  EXPECT_NO_THROW(schema.load_text("server: {port: 81, tls: {enabled: true}}", {}));
}

TEST(ConfigSchema, EffectiveYamlShowsSourcesAndRedactsSecrets) {
  TempFile file(
      "server: {port: 9000}\nkafka:\n  password: hunter2\n  config:\n    sasl.password: pw1\n"
      "    ssl.key.location: /k\n    acks: all\n    ssl.key.pem: pem1\n"
      "    sasl.oauthbearer.config: clientSecret=cs1\n    passphrase: pp1\n    creds: cr1\n");
  const auto schema = test_schema();
  const auto values =
      schema.load(file.path(), {{"LOG_LEVEL", "debug"}, {"FLINT_SERVER_HOST", "h"}});
  const auto yaml = schema.effective_yaml(values);
  EXPECT_EQ(yaml, "# Effective configuration (file: " + file.path().string() +
                      ")\n"
                      "server:\n"
                      "  port: 9000  # file\n"
                      "  host: h  # env FLINT_SERVER_HOST\n"
                      "  tls:\n"
                      "    enabled: false  # default\n"
                      "  read_timeout: 30s  # default\n"
                      "  max_body: 1MiB  # default\n"
                      "log:\n"
                      "  level: debug  # env LOG_LEVEL\n"
                      "kafka:\n"
                      "  brokers: [localhost:9092]  # default\n"
                      "  config:  # file\n"
                      "    acks: all\n"
                      "    creds: \"****\"\n"
                      "    passphrase: \"****\"\n"
                      "    sasl.oauthbearer.config: \"****\"\n"
                      "    sasl.password: \"****\"\n"
                      "    ssl.key.location: \"****\"\n"
                      "    ssl.key.pem: \"****\"\n"
                      "  password: \"****\"  # file\n");
  for (const char* secret : {"hunter2", "pw1", "pem1", "cs1", "pp1", "cr1"}) {
    EXPECT_THAT(yaml, Not(HasSubstr(secret))) << secret;
  }
}

TEST(ConfigSchema, EffectiveYamlLoadsBackToTheSameValues) {
  const auto schema = test_schema();
  const auto values = schema.load_text(
      "server: {host: 'true', read_timeout: 1500ms, max_body: 3MB}\n"
      "kafka: {brokers: ['a, b', 'c'], config: {'x: y': 'z #1'}}\n",
      {});
  const auto reloaded = schema.load_text(schema.effective_yaml(values), {});
  for (const auto& option : schema.options()) {
    if (option.spec.secret) continue;
    EXPECT_EQ(reloaded.value(option.key), values.value(option.key)) << option.key;
  }
}

TEST(ConfigSchema, TheMaskOfAPrintedSecretIsRefusedAsItsValue) {
  // flint config's output, loaded back: "****" would be taken for the password.
  const auto schema = test_schema();
  const std::string mask = ": \"****\" is how flint config prints a secret, not its value; ";
  EXPECT_THAT(
      errors_of([&] {
        schema.load_text(
            "kafka:\n"
            "  password: '****'\n"
            "  config:\n"
            "    client.id: '****'\n"
            "    sasl.password: '****'\n",
            {});
      }),
      ElementsAre(
          // Each entry of a map names its own line.
          "kafka.config.sasl.password" + mask + "give the value itself (file <text>, line 5)",
          "kafka.password" + mask + "give the value itself (file, line 2)"));
  EXPECT_THAT(errors_of([&] {
                schema.load_text("", {{"FLINT_KAFKA_CONFIG", "sasl.password=****"}});
              }),
              ElementsAre("kafka.config.sasl.password" + mask +
                          "give the value itself (env FLINT_KAFKA_CONFIG)"));
  EXPECT_THAT(
      errors_of([&] {
        schema.load_text("", {{"FLINT_KAFKA_PASSWORD", "****"}});
      }),
      ElementsAre("kafka.password" + mask + "give the value itself (env FLINT_KAFKA_PASSWORD)"));
}

TEST(ConfigSchema, SchemaBugsAreCaughtWhenBuilding) {
  ConfigSchema schema;
  schema.add("a.b_c", OptionSpec::boolean(true, ""));
  EXPECT_THROW(schema.add("a_b.c", OptionSpec::boolean(true, "")), std::logic_error);  // same var
  EXPECT_THROW(schema.add("a.b_c", OptionSpec::boolean(true, "")), std::logic_error);  // twice
  EXPECT_THROW(schema.add("a.b_c.d", OptionSpec::boolean(true, "")), std::logic_error);
  EXPECT_THROW(schema.add("a", OptionSpec::boolean(true, "")), std::logic_error);
  EXPECT_THROW(schema.add("A.x", OptionSpec::boolean(true, "")), std::logic_error);
  EXPECT_THROW(schema.add("a..x", OptionSpec::boolean(true, "")), std::logic_error);
  EXPECT_THROW(schema.add("n", OptionSpec::integer(0, "", {.min = 1})), std::logic_error);
  EXPECT_THROW(schema.add("e", OptionSpec::enumeration("x", {"y"}, "")), std::logic_error);
  EXPECT_THROW(schema.add_env_alias("X", "nope"), std::logic_error);
  EXPECT_THROW(schema.add_env_alias("FLINT_X", "a.b_c"), std::logic_error);
  schema.set_config_file_variable("FLINT_CONFIG");
  EXPECT_THROW(schema.add("config", OptionSpec::string("", "")), std::logic_error);
  // Reserved variables: prefixed, and not in use.
  EXPECT_THROW(schema.add_reserved_variable("SEAL_KEY"), std::logic_error);
  EXPECT_THROW(schema.add_reserved_variable("FLINT_A_B_C"), std::logic_error);
  EXPECT_THROW(schema.add_reserved_variable("FLINT_CONFIG"), std::logic_error);
  schema.add_reserved_variable("FLINT_SEAL_KEY");
  EXPECT_THROW(schema.add_reserved_variable("FLINT_SEAL_KEY"), std::logic_error);
  EXPECT_THROW(schema.add("seal.key", OptionSpec::string("", "")), std::logic_error);
  // A default the validator refuses.
  EXPECT_THROW(schema.add("v", OptionSpec::string("", "").with_validator([](const ConfigValue&) {
    return std::vector<ValueProblem>{{"", "never valid"}};
  })),
               std::logic_error);
}

TEST(ConfigSchema, ReferenceMarkdownListsEveryOption) {
  const auto markdown = test_schema().reference_markdown();
  EXPECT_THAT(markdown, HasSubstr("| `server.port` | integer (0...65535) | `8080` | "
                                  "`FLINT_SERVER_PORT` | port |"));
  EXPECT_THAT(markdown, HasSubstr("| `log.level` | enum (`debug` \\| `info` \\| `error`) | `info` "
                                  "| `FLINT_LOG_LEVEL`, `LOG_LEVEL` | level |"));
  EXPECT_THAT(markdown, HasSubstr("| `kafka.password` | string, secret | `****` |"));
}

}  // namespace
}  // namespace flint::config
