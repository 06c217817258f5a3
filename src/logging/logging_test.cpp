#include "logging/logging.hpp"

#include <algorithm>
#include <csignal>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <sched.h>
#include <spdlog/sinks/ostream_sink.h>
#include <sys/resource.h>
#include <unistd.h>

#include "logging/fatal_signal.hpp"
#include "logging/log_context.hpp"
#include "logging/log_throttle.hpp"
#include "logging/thread_name.hpp"

namespace flint::logging {
namespace {

class LoggingTest : public ::testing::Test {
 protected:
  void use(LogFormat format) {
    configure({.level = "debug", .format = format},
              std::make_shared<spdlog::sinks::ostream_sink_mt>(out_));
  }
  std::ostringstream out_;
};

TEST_F(LoggingTest, LogstashLineHasContractFieldsAndTraceContext) {
  use(LogFormat::logstash);
  set_thread_name("worker-1");
  LogFields fields{{"tracectx.transactionid", "tx-1"}, {"tenantId", "t1"}};
  {
    ScopedLogContext scope(fields);
    logger("api")->info("accepted {}", "Create");
  }
  const auto line = boost::json::parse(out_.str()).as_object();
  EXPECT_EQ(line.at("message"), "accepted Create");
  EXPECT_EQ(line.at("@version"), "1");
  EXPECT_EQ(line.at("type"), "logstash");
  EXPECT_EQ(line.at("level"), "INFO");
  EXPECT_EQ(line.at("logger_name"), "api");
  EXPECT_EQ(line.at("thread_name"), "worker-1");
  EXPECT_EQ(line.at("tracectx.transactionid"), "tx-1");
  EXPECT_EQ(line.at("tenantId"), "t1");
  EXPECT_TRUE(line.contains("HOSTNAME"));
  const auto timestamp = std::string(line.at("@timestamp").as_string());
  ASSERT_EQ(timestamp.size(), 24u) << timestamp;  // 2026-11-22T01:02:03.456Z
  EXPECT_EQ(timestamp.back(), 'Z');
}

TEST_F(LoggingTest, ErrorWhileHandlingAnExceptionCarriesItsStackTrace) {
  use(LogFormat::logstash);
  try {
    try {
      throw std::runtime_error("disk I/O error");
    } catch (...) {
      std::throw_with_nested(std::invalid_argument("cannot record execution r1"));
    }
  } catch (const std::exception& error) {
    logger("service")->error("failed: {}", error.what());
    logger("service")->warn("a warning names no trace");
  }
  logger("service")->error("an error outside a handler has none");
  std::istringstream lines(out_.str());
  std::string text;
  std::vector<boost::json::object> parsed;
  while (std::getline(lines, text)) parsed.push_back(boost::json::parse(text).as_object());
  ASSERT_EQ(parsed.size(), 3u);
  ASSERT_TRUE(parsed[0].contains("stack_trace"));
  const std::string trace(parsed[0].at("stack_trace").as_string());
  EXPECT_NE(trace.find("std::invalid_argument"), std::string::npos) << trace;
  EXPECT_NE(
      trace.find(": cannot record execution r1\nCaused by: std::runtime_error: disk I/O error"),
      std::string::npos)
      << trace;
  EXPECT_FALSE(parsed[1].contains("stack_trace"));
  EXPECT_FALSE(parsed[2].contains("stack_trace"));
}

TEST_F(LoggingTest, StackTraceMasksPrivateKeys) {
  use(LogFormat::logstash);
  try {
    throw std::runtime_error(
        "bad key -----BEGIN PRIVATE KEY-----\nMIIsecret\n-----END PRIVATE KEY-----");
  } catch (const std::exception&) {
    logger("api")->error("handler failed");
  }
  const auto line = boost::json::parse(out_.str()).as_object();
  const std::string trace(line.at("stack_trace").as_string());
  EXPECT_EQ(trace.find("MIIsecret"), std::string::npos) << trace;
  EXPECT_NE(trace.find("****"), std::string::npos) << trace;
}

TEST_F(LoggingTest, ContextEndsWithItsScope) {
  use(LogFormat::flat);
  LogFields fields{{"tracectx.transactionid", "tx-2"}};
  {
    ScopedLogContext scope(fields);
    logger("api")->warn("inside");
  }
  logger("api")->warn("outside");
  const std::string text = out_.str();
  const auto newline = text.find('\n');
  EXPECT_NE(text.substr(0, newline).find("inside tracectx.transactionid=tx-2"), std::string::npos);
  EXPECT_EQ(text.substr(newline).find("tracectx"), std::string::npos);
  EXPECT_NE(text.find("WARNING"), std::string::npos);
}

TEST_F(LoggingTest, LevelFiltersLines) {
  configure({.level = "error", .format = LogFormat::flat},
            std::make_shared<spdlog::sinks::ostream_sink_mt>(out_));
  logger("api")->info("hidden");
  EXPECT_TRUE(out_.str().empty());
}

TEST_F(LoggingTest, JournalPrioritiesPrefixEachLineInBothFormats) {
  for (const LogFormat format : {LogFormat::flat, LogFormat::logstash}) {
    out_.str("");
    configure({.level = "debug", .format = format, .priority_prefix = true},
              std::make_shared<spdlog::sinks::ostream_sink_mt>(out_));
    logger("api")->debug("d");
    logger("api")->info("i");
    logger("api")->warn("w");
    logger("api")->error("e");
    logger("api")->critical("c");
    std::istringstream lines(out_.str());
    std::string prefixes;
    for (std::string line; std::getline(lines, line);) prefixes += line.substr(0, 3);
    EXPECT_EQ(prefixes, "<7><6><4><3><2>") << out_.str();
  }
  // Not given: none with a sink of the caller's.
  out_.str("");
  configure({.level = "info", .format = LogFormat::flat},
            std::make_shared<spdlog::sinks::ostream_sink_mt>(out_));
  logger("api")->error("e");
  EXPECT_NE(out_.str().front(), '<');
}

TEST(LoggingConfig, UnknownLevelIsRejected) {
  EXPECT_THROW(configure({.level = "loud"}), std::invalid_argument);
}

}  // namespace
}  // namespace flint::logging

namespace flint::logging {
namespace {

TEST(FlatLog, ControlCharactersCannotForgeLines) {
  std::ostringstream out;
  configure({.level = "info", .format = LogFormat::flat},
            std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  logger("api")->info("Create\n2026-01-01T00:00:00.000Z ERROR fake");
  const std::string text = out.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  EXPECT_NE(text.find("Create\\n2026"), std::string::npos) << text;
}

TEST(FlatLog, UnicodeLineBreaksCannotForgeLinesEither) {
  std::ostringstream out;
  configure({.level = "info", .format = LogFormat::flat},
            std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  logger("api")->info("a\u0085b\u2028c\u2029d\u009fe \u00e9\u2027");
  const std::string text = out.str();
  EXPECT_NE(text.find("a\\u0085b\\u2028c\\u2029d\\u009fe \u00e9\u2027\n"), std::string::npos)
      << text;
}

TEST(LogstashLog, UnicodeLineBreaksAreEscaped) {
  std::ostringstream out;
  configure({.level = "info", .format = LogFormat::logstash},
            std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  LogFields fields{{"tenantId", "t\u2028x"}};
  {
    ScopedLogContext scope(fields);
    logger("api")->info("a\u0085b\u2029c \u00e9");
  }
  const std::string text = out.str();
  for (const std::string_view raw : {"\u0085", "\u2028", "\u2029"}) {
    EXPECT_EQ(text.find(raw), std::string::npos) << text;
  }
  const auto line = boost::json::parse(text).as_object();
  EXPECT_EQ(line.at("message"), "a\u0085b\u2029c \u00e9") << "the same text, escaped";
  EXPECT_EQ(line.at("tenantId"), "t\u2028x");
}

TEST(MaskPrivateKeys, EachBlockBecomesStarsWhereverItIs) {
  std::string masked;
  EXPECT_EQ(mask_private_keys("plain text", masked), "plain text");
  EXPECT_EQ(
      mask_private_keys("a -----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY----- b", masked),
      "a -----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY----- b");
  EXPECT_EQ(mask_private_keys("invalid lifecycle name \"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n"
                              "-----END RSA PRIVATE KEY-----\n\" (x)",
                              masked),
            "invalid lifecycle name \"****\n\" (x)");
  // Two blocks, OpenPGP's label, and JSON-escaped newlines.
  EXPECT_EQ(
      mask_private_keys(R"({"a":"-----BEGIN PGP PRIVATE KEY BLOCK-----\nxcLY\n)"
                        R"(-----END PGP PRIVATE KEY BLOCK-----","b":"-----BEGIN )"
                        R"(OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----"})",
                        masked),
      R"({"a":"****","b":"****"})");
  // Cut short: masked to the end.
  EXPECT_EQ(mask_private_keys("k=-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE", masked), "k=****");
  // In a URL (a request path logged at debug), with its spaces encoded either way.
  EXPECT_EQ(mask_private_keys("GET /x/-----BEGIN%20PRIVATE%20KEY-----%0AMIIE%0A-----END%20"
                              "PRIVATE%20KEY----- -> 400",
                              masked),
            "GET /x/**** -> 400");
  EXPECT_EQ(mask_private_keys("q=-----BEGIN+RSA+PRIVATE+KEY-----MIIE and "
                              "-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----",
                              masked),
            "q=****");
}

TEST(ValidUtf8, StrayBytesAreShownNotPassedOn) {
  std::string repaired;
  EXPECT_EQ(valid_utf8("caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80", repaired),
            "caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80");
  EXPECT_EQ(valid_utf8("t\xFF"
                       "1",
                       repaired),
            "t\\xff1");
  EXPECT_EQ(valid_utf8("\xC3", repaired), "\\xc3");                    // cut short
  EXPECT_EQ(valid_utf8("\xC0\xAF", repaired), "\\xc0\\xaf");           // overlong '/'
  EXPECT_EQ(valid_utf8("\xED\xA0\x80", repaired), "\\xed\\xa0\\x80");  // a surrogate
}

TEST(LogstashLog, EveryLineIsValidJsonWithKeysMasked) {
  std::ostringstream out;
  configure({.level = "info", .format = LogFormat::logstash},
            std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  LogFields fields{{"tenantId",
                    "t\xFF"
                    "1"},
                   {"tracectx.k", "-----BEGIN PRIVATE KEY-----\nAB"}};
  {
    ScopedLogContext scope(fields);
    logger("api")->info(
        "refused \"/a\xFF\xFE\" -----BEGIN RSA PRIVATE KEY-----\nMIIE\n"
        "-----END RSA PRIVATE KEY-----");
  }
  const auto line = boost::json::parse(out.str()).as_object();
  EXPECT_EQ(line.at("message"), "refused \"/a\\xff\\xfe\" ****");
  EXPECT_EQ(line.at("tenantId"), "t\\xff1");
  EXPECT_EQ(line.at("tracectx.k"), "****");
}

TEST(BoundedMessage, ALongMessageIsCutAtACharacter) {
  std::string bounded;
  EXPECT_EQ(bounded_message("short", bounded), "short");
  const std::string exact(kMaxMessageBytes, 'a');
  EXPECT_EQ(bounded_message(exact, bounded), exact);
  EXPECT_EQ(bounded_message(exact + "bc", bounded), exact + " ... [2 bytes cut]");
  // The two-byte \xC3\xA9 straddles the limit: it goes whole.
  const std::string straddling = std::string(kMaxMessageBytes - 1, 'a') + "\xC3\xA9z";
  EXPECT_EQ(bounded_message(straddling, bounded),
            std::string(kMaxMessageBytes - 1, 'a') + " ... [3 bytes cut]");
}

TEST(LogstashLog, AMessageFromHugeRequestDataStaysBounded) {
  std::ostringstream out;
  configure({.level = "info", .format = LogFormat::logstash},
            std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  logger("service")->info("accepted lifecycle {} as request r-1", std::string(4 << 20, 'x'));
  const auto line = boost::json::parse(out.str()).as_object();
  const auto message = std::string_view(line.at("message").as_string());
  EXPECT_LT(message.size(), kMaxMessageBytes + 64);
  EXPECT_TRUE(message.ends_with(" bytes cut]")) << message.substr(message.size() - 64);
}

TEST(FlatLog, KeysAreMaskedToo) {
  std::ostringstream out;
  configure({.level = "info", .format = LogFormat::flat},
            std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  logger("api")->info("find -----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY----- at x");
  EXPECT_NE(out.str().find("find **** at x"), std::string::npos) << out.str();
  EXPECT_EQ(out.str().find("MIIE"), std::string::npos) << out.str();
}

TEST(ThreadSchedulingTest, BatchSchedulingChangesTheCallingThreadOnly) {
  int worker_policy = -1;
  std::thread worker([&] {
    set_batch_scheduling();
    worker_policy = sched_getscheduler(0);
  });
  worker.join();
  EXPECT_EQ(worker_policy, SCHED_BATCH);
  EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER);
}

TEST(StartThread, RunsTheBody) {
  int ran = 0;
  start_thread("a test thread", [&] { ran = 1; }).join();
  EXPECT_EQ(ran, 1);
}

// At the limit on processes the error names the thread, not only EAGAIN.
TEST(StartThread, AThreadThatCannotStartIsNamed) {
  // Root ignores RLIMIT_NPROC; the child drops to nobody, which needs root.
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run the child as nobody";
  const auto start_under_limit = [] {
    const rlimit limit{1, 1};  // nobody may not start another task
    if (::setrlimit(RLIMIT_NPROC, &limit) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) {
      std::_Exit(3);
    }
    try {
      start_thread("the test's worker", [] {}).join();
    } catch (const std::system_error& e) {
      std::fprintf(stderr, "%s\n", e.what());
      std::_Exit(e.code() == std::errc::resource_unavailable_try_again ? 0 : 4);
    }
    std::_Exit(5);
  };
  EXPECT_EXIT(start_under_limit(), ::testing::ExitedWithCode(0),
              "cannot start the test's worker: Resource temporarily unavailable");
}

}  // namespace
}  // namespace flint::logging

namespace flint::logging {
namespace {

TEST(LogThrottleTest, LetsOneLineThroughPerIntervalAndCountsTheOthers) {
  using namespace std::chrono_literals;
  LogThrottle throttle(10s);
  const auto start = LogThrottle::Clock::now();
  EXPECT_EQ(throttle.admit(start), std::optional<std::size_t>(0));
  EXPECT_EQ(throttle.admit(start + 1s), std::nullopt);
  EXPECT_EQ(throttle.admit(start + 9s), std::nullopt);
  EXPECT_EQ(throttle.admit(start + 10s), std::optional<std::size_t>(2));
  EXPECT_EQ(throttle.admit(start + 30s), std::optional<std::size_t>(0));
}

TEST(FatalSignalReport, NamesTheSignalTheThreadAndTheDriverCall) {
  if (!fatal_signal_report_available()) GTEST_SKIP() << "a sanitizer reports faults here";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        install_fatal_signal_report(LogFormat::flat);
        set_thread_name("driver-7");
        const ScopedDriverCallNote note("acme", "get_lifecycle_execution");
        std::raise(SIGSEGV);
      },
      ::testing::KilledBySignal(SIGSEGV),
      "Z CRITICAL \\[driver-7\\] app: fatal signal SIGSEGV \\(invalid memory access\\) on "
      "thread driver-7, in a call of driver 'acme' \\(get_lifecycle_execution\\); the process "
      "stops\n$");
}

// Never equal to a depth: the recursion has a way out the compiler cannot
// see through, so that it neither warns nor turns it into a loop.
volatile int g_never = -1;

[[gnu::noinline]] int recurse_until_the_stack_ends(int depth) {
  volatile char frame[4096];
  frame[0] = static_cast<char>(depth);
  if (depth == g_never) return 0;
  return recurse_until_the_stack_ends(depth + 1) + frame[0];
}

TEST(FatalSignalReport, AStackOverflowOnADriverThreadIsReportedToo) {
  if (!fatal_signal_report_available()) GTEST_SKIP() << "a sanitizer reports faults here";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        install_fatal_signal_report(LogFormat::flat);
        std::thread driver_thread([] {
          const AlternateSignalStack signal_stack;  // as each driver thread has
          set_thread_name("driver-3");
          const ScopedDriverCallNote note("acme", "execute_lifecycle");
          recurse_until_the_stack_ends(0);
        });
        driver_thread.join();
      },
      ::testing::KilledBySignal(SIGSEGV),
      "CRITICAL \\[driver-3\\] app: fatal signal SIGSEGV \\(invalid memory access\\) at "
      "address 0x[0-9a-f]+ on thread driver-3, in a call of driver 'acme' "
      "\\(execute_lifecycle\\); the process stops\n$");
}

TEST(FatalSignalReport, IsOneJsonLineInLogstashModeAndNamesNoCallOutsideOne) {
  if (!fatal_signal_report_available()) GTEST_SKIP() << "a sanitizer reports faults here";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        install_fatal_signal_report(LogFormat::logstash);
        set_thread_name("io-1");
        { const ScopedDriverCallNote note("acme", "find_reference"); }
        std::abort();
      },
      ::testing::KilledBySignal(SIGABRT),
      "^\\{\"@timestamp\":\"[0-9T:.-]+Z\",\"@version\":\"1\",\"message\":\"fatal signal "
      "SIGABRT \\(aborted\\) on thread io-1; the process stops\",.*\"thread_name\":\"io-1\","
      "\"level\":\"CRITICAL\",\"logger_name\":\"app\"\\}\n$");
}

}  // namespace
}  // namespace flint::logging
