#include "script/script_driver.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <mutex>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <flint/sdk/errors.hpp>

#include "script/test_support.hpp"

namespace flint::drivers::script {
namespace {

namespace bj = boost::json;
namespace fs = std::filesystem;
using sdk::ExecutionStatus;
using sdk::FailureCode;
using sdk::LifecycleExecution;
using sdk::Property;
using testing::eventually;
using testing::FilePermissionsApply;
using ::testing::HasSubstr;
using testing::process_dead;
using testing::read_text;
using ::testing::StartsWith;
using testing::TempDir;
using testing::write_package_file;
using namespace std::chrono_literals;

class FakeContext : public sdk::CallContext {
 public:
  std::string_view tenant_id() const noexcept override { return {}; }
  const TraceFields& trace_context() const noexcept override { return trace_; }
  std::chrono::steady_clock::time_point deadline() const noexcept override { return deadline_; }
  void write_log(sdk::LogLevel level, std::string_view message,
                 std::span<const sdk::LogField>) override {
    if (level == sdk::LogLevel::warn) warnings_.emplace_back(message);
  }

  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::now() + 1min;
  std::vector<std::string> warnings_;  // written by the test's thread only

 private:
  TraceFields trace_;
};

class FakeReporter : public sdk::ExecutionReporter {
 public:
  void report(LifecycleExecution execution) override {
    std::lock_guard lock(mutex_);
    reports_.push_back(std::move(execution));
    changed_.notify_all();
  }
  std::optional<LifecycleExecution> wait(std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return !reports_.empty(); });
    if (reports_.empty()) return std::nullopt;
    return reports_.front();
  }
  std::size_t count() {
    std::lock_guard lock(mutex_);
    return reports_.size();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<LifecycleExecution> reports_;
};

// A script that waits until the test creates `gate` in the package root.
constexpr std::string_view kWaitForGate =
    "while [ ! -e \"$FLINT_DRIVER_FILES/gate\" ]; do sleep 0.02; done\n";

class ScriptDriverTest : public ::testing::Test {
 protected:
  Options options(std::size_t max_concurrent = 8) const {
    Options o;
    o.executions_dir = work_.path() / "executions";
    o.max_concurrent = max_concurrent;
    o.kill_grace = 200ms;
    return o;
  }
  /// `options()` with a lifecycle timeout long enough that a script's first
  /// lines run before it, even on a loaded machine.
  Options options_timing_out() const {
    Options o = options();
    o.default_timeout = 2s;
    return o;
  }
  void package_file(const std::string& relative, std::string_view content) {
    write_package_file(package_.path(), relative, content);
  }
  void open_gate() { write_package_file(package_.path(), "gate", ""); }
  fs::path work_dir(const std::string& id) const { return work_.path() / "executions" / id; }

  sdk::ExecuteLifecycleRequest request(std::string lifecycle = "Create") const {
    sdk::ExecuteLifecycleRequest r;
    r.lifecycle_name = std::move(lifecycle);
    r.driver_files = sdk::DirectoryTree(package_.path());
    r.system_properties = {{"resourceId", Property::string("res-1")},
                           {"resourceName", Property::string("vm one")}};
    r.deployment_location = {"dl", "Test", bj::object{{"password", "s3cret"}}};
    return r;
  }
  std::string execute(ScriptDriver& driver, const sdk::ExecuteLifecycleRequest& r) {
    return driver.execute_lifecycle(r, context_).request_id;
  }
  LifecycleExecution poll(ScriptDriver& driver, const std::string& id) {
    return driver.get_lifecycle_execution(id, location_, context_);
  }
  LifecycleExecution wait_terminal(ScriptDriver& driver, const std::string& id,
                                   std::chrono::milliseconds timeout = 15s) {
    LifecycleExecution last;
    eventually(
        [&] {
          last = poll(driver, id);
          return sdk::is_terminal(last.status);
        },
        timeout);
    return last;
  }

  // Starts the Create script with a driver that then stops, as a host does
  // at a restart; the script keeps running. Returns its request id.
  std::string start_before_restart(const Options& o) {
    ScriptDriver driver(o);
    std::string id = execute(driver, request());
    EXPECT_TRUE(eventually([&] { return fs::exists(work_dir(id) / "process.json"); }));
    return id;
  }
  // Rewrites the execution's process.json with `edit`, as another boot or
  // another wall clock would have left it.
  void edit_process_record(const std::string& id, const std::function<void(bj::object&)>& edit) {
    const fs::path file = work_dir(id) / "process.json";
    auto process = bj::parse(read_text(file)).as_object();
    edit(process);
    std::ofstream(file) << bj::serialize(process);
  }

  TempDir work_;
  TempDir package_;
  FakeContext context_;
  sdk::DeploymentLocation location_{"dl", "Test", {}};
};

TEST_F(ScriptDriverTest, CompletesWithOutputsTopologyAndTheDocumentedEnvironment) {
  ::setenv("FLINT_TEST_HOST_SECRET", "leak", 1);
  package_file("scripts/Create.sh", R"SH(set -e
cmp -s - "$FLINT_REQUEST_FILE" && stdin=same || stdin=different
cat > "$FLINT_RESULT_FILE" <<JSON
{"outputs": {"lifecycle": "$FLINT_LIFECYCLE", "requestId": "$FLINT_REQUEST_ID",
  "cwd": "$(pwd)", "workDir": "$FLINT_WORK_DIR", "files": "$FLINT_DRIVER_FILES",
  "stdin": "$stdin", "hostSecret": "${FLINT_TEST_HOST_SECRET:-unset}"},
 "associatedTopology": {"vm": {"id": "i-123", "type": "Openstack"}, "gone": null}}
JSON
echo "done on stdout"
)SH");
  ScriptDriver driver(options());
  const auto response = driver.execute_lifecycle(request(), context_);
  const std::string& id = response.request_id;
  EXPECT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '7');
  EXPECT_FALSE(response.reports_completion);

  const auto result = wait_terminal(driver, id);
  ASSERT_EQ(result.status, ExecutionStatus::complete) << result.failure_details->description;
  const fs::path dir = work_dir(id);
  EXPECT_EQ(result.outputs, (bj::object{{"lifecycle", "Create"},
                                        {"requestId", id},
                                        {"cwd", dir.string()},
                                        {"workDir", dir.string()},
                                        {"files", package_.path().string()},
                                        {"stdin", "same"},
                                        {"hostSecret", "unset"}}));
  sdk::AssociatedTopology topology;
  topology.add("vm", {"i-123", "Openstack"});
  topology.remove("gone");
  EXPECT_EQ(result.associated_topology, topology);
  EXPECT_EQ(poll(driver, id), result);  // idempotent
  EXPECT_EQ(read_text(dir / "stdout.log"), "done on stdout\n");

  // The request document holds secrets: private to the host's user.
  struct stat st {};
  ASSERT_EQ(::stat((dir / "request.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const auto document = bj::parse(read_text(dir / "request.json")).as_object();
  EXPECT_EQ(document.at("lifecycleName"), "Create");
  EXPECT_EQ(document.at("requestId"), id.c_str());
  EXPECT_EQ(document.at("systemProperties").at("resourceName").at("value"), "vm one");
  EXPECT_EQ(document.at("resourceProperties"), bj::object());
  EXPECT_EQ(document.at("associatedTopology"), bj::object());
  EXPECT_EQ(document.at("deploymentLocation").at("properties").at("password"), "s3cret");

  driver.on_execution_delivered(id, location_, context_);
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_THROW(poll(driver, id), sdk::RequestNotFoundError);
}

TEST_F(ScriptDriverTest, FailsWithTheScriptsFailureCode) {
  package_file("scripts/Install.sh", R"SH(
echo '{"failureCode": "INFRASTRUCTURE_ERROR", "failureDescription": "VIM unreachable",
       "outputs": {"step": "network"}}' > "$FLINT_RESULT_FILE"
exit 2
)SH");
  ScriptDriver driver(options());
  const auto id = execute(driver, request("Install"));
  EXPECT_EQ(wait_terminal(driver, id),
            LifecycleExecution::failed(id, FailureCode::infrastructure_error, "VIM unreachable",
                                       bj::object{{"step", "network"}}));
}

TEST_F(ScriptDriverTest, FailsWithTheStderrTailWithoutResultFile) {
  package_file("scripts/Create.sh", R"SH(
i=0; while [ $i -lt 200 ]; do echo "noise line $i" >&2; i=$((i+1)); done
echo "fatal: quota exceeded" >&2
exit 3
)SH");
  Options o = options();
  o.stderr_tail_bytes = 64;
  ScriptDriver driver(o);
  const auto id = execute(driver, request());
  const auto result = wait_terminal(driver, id);
  ASSERT_EQ(result.status, ExecutionStatus::failed);
  EXPECT_EQ(result.failure_details->code, FailureCode::internal_error);
  const auto& description = result.failure_details->description;
  EXPECT_THAT(description, StartsWith("exit code 3: ..."));
  EXPECT_THAT(description, HasSubstr("noise line 199\nfatal: quota exceeded"));
  EXPECT_LE(description.size(), std::string("exit code 3: ...").size() + 64);
}

TEST_F(ScriptDriverTest, AResultFileThatIsNotARegularFileFailsWithoutBlocking) {
  // A FIFO nobody writes to would block a reader forever, wedging the driver.
  ScriptDriver driver(options());
  for (const std::string make : {"mkfifo", "mkdir", "ln -s /etc/hostname"}) {
    package_file("scripts/Create.sh", make + " \"$FLINT_RESULT_FILE\"\nexit 0\n");
    auto r = request();
    auto reporter = std::make_shared<FakeReporter>();
    r.reporter = reporter;
    const auto id = execute(driver, r);
    const auto expected = LifecycleExecution::failed(
        id, FailureCode::internal_error,
        "lifecycle Create (exit code 0): malformed result file: not a regular file");
    EXPECT_EQ(reporter->wait(), expected) << make;
    EXPECT_EQ(wait_terminal(driver, id), expected) << make;
  }
  package_file("scripts/Create.sh", "exit 0\n");
  const auto later = execute(driver, request());
  EXPECT_EQ(wait_terminal(driver, later), LifecycleExecution::complete(later));
}

TEST_F(ScriptDriverTest, AResultFileOverOneMebibyteIsMalformed) {
  package_file("scripts/Create.sh",
               "head -c 1048577 /dev/zero | tr '\\0' ' ' > \"$FLINT_RESULT_FILE\"\n");
  ScriptDriver driver(options());
  const auto id = execute(driver, request());
  EXPECT_EQ(
      wait_terminal(driver, id),
      LifecycleExecution::failed(
          id, FailureCode::internal_error,
          "lifecycle Create (exit code 0): malformed result file: larger than 1048576 bytes"));
}

TEST_F(ScriptDriverTest, PrivateKeysOnStderrAreMaskedBeforeTheTailIsCut) {
  // The tail starts in the middle of the key: no BEGIN line left in it.
  std::string key = "-----BEGIN RSA PRIVATE KEY-----\n";
  for (int i = 0; i < 50; ++i) key += "KEYLINE" + std::to_string(i) + std::string(56, 'q') + "\n";
  key += "-----END RSA PRIVATE KEY-----\n";
  package_file("key.pem", key);
  package_file("scripts/Create.sh",
               "cat \"$FLINT_DRIVER_FILES/key.pem\" >&2\necho done >&2\nexit 2\n");
  Options o = options();
  o.stderr_tail_bytes = 300;
  ScriptDriver driver(o);
  const auto id = execute(driver, request());
  const auto result = wait_terminal(driver, id);
  ASSERT_EQ(result.status, ExecutionStatus::failed);
  EXPECT_EQ(result.failure_details->description, "exit code 2: ****\ndone");
}

TEST_F(ScriptDriverTest, UnknownLifecycleIsRefusedAtExecute) {
  package_file("scripts/Create.sh", "exit 0\n");
  package_file("scripts/Delete.sh", "exit 0\n");
  ScriptDriver driver(options());
  try {
    execute(driver, request("Reboot"));
    FAIL() << "no error";
  } catch (const sdk::InvalidLifecycleNameError& error) {
    EXPECT_STREQ(error.what(),
                 "invalid lifecycle name \"Reboot\": the driver files define Create, Delete "
                 "(scripts/<Name>.sh)");
  }
  EXPECT_TRUE(fs::is_empty(work_.path() / "executions"));  // nothing kept
  // Case-insensitive fallback on .sh names.
  const auto id = execute(driver, request("delete"));
  EXPECT_EQ(wait_terminal(driver, id).status, ExecutionStatus::complete);
}

TEST_F(ScriptDriverTest, ManifestRunsAnArgvCommand) {
  package_file("scripts/install.sh", R"SH(
printf '{"outputs": {"argc": %d, "self": "%s", "first": "%s", "second": "%s"}}' \
  "$#" "$0" "$1" "$2" > "$FLINT_RESULT_FILE"
)SH");
  package_file("scripts/manifest.json", R"({"lifecycles": {
    "Install": {"command": ["sh", "install.sh", "--mode", "a b; echo $HOME"], "timeoutSeconds": 60}
  }})");
  ScriptDriver driver(options());
  const auto id = execute(driver, request("Install"));
  const auto result = wait_terminal(driver, id);
  ASSERT_EQ(result.status, ExecutionStatus::complete) << result.failure_details->description;
  EXPECT_EQ(result.outputs, (bj::object{{"argc", 2},
                                        {"self", (package_.path() / "scripts/install.sh").string()},
                                        {"first", "--mode"},
                                        {"second", "a b; echo $HOME"}}));
  const auto record = bj::parse(read_text(work_dir(id) / "execution.json")).as_object();
  EXPECT_EQ(record.at("timeoutMs"), 60000);
}

TEST_F(ScriptDriverTest, PropertiesWithShellMetacharactersAreNeverExecuted) {
  package_file("scripts/Create.sh", R"SH(
# The driver never puts a request value on a command line; the script only reads the file.
cat "$FLINT_REQUEST_FILE" > /dev/null
)SH");
  const std::vector<std::string> nasty = {
      "$(touch pwned1)", "`touch pwned2`", "x; touch pwned3; rm -rf /tmp/flint-nothing",
      "quote\" ' \\\" && touch pwned4", "line\nbreak | tee pwned5"};
  auto r = request();
  sdk::PropertyMap props;
  for (std::size_t i = 0; i < nasty.size(); ++i) {
    props.set("p" + std::to_string(i), Property::string(nasty[i]));
  }
  r.resource_properties = props;
  r.request_properties = props;
  r.deployment_location.name = nasty[0];
  r.associated_topology.add(nasty[2], {nasty[1], nasty[3]});
  ScriptDriver driver(options());
  const auto id = execute(driver, r);
  ASSERT_EQ(wait_terminal(driver, id).status, ExecutionStatus::complete);

  const auto document = bj::parse(read_text(work_dir(id) / "request.json")).as_object();
  for (std::size_t i = 0; i < nasty.size(); ++i) {
    const std::string name = "p" + std::to_string(i);
    EXPECT_EQ(document.at("resourceProperties").at(name).at("value"), nasty[i].c_str());
    EXPECT_EQ(document.at("requestProperties").at(name).at("value"), nasty[i].c_str());
  }
  EXPECT_EQ(document.at("deploymentLocation").at("name"), nasty[0].c_str());
  EXPECT_EQ(document.at("associatedTopology").at(nasty[2]).at("id"), nasty[1].c_str());
  for (int i = 1; i <= 5; ++i) {
    const std::string file = "pwned" + std::to_string(i);
    EXPECT_FALSE(fs::exists(work_dir(id) / file)) << file;
    EXPECT_FALSE(fs::exists(fs::current_path() / file)) << file;
    EXPECT_FALSE(fs::exists(package_.path() / file)) << file;
  }
}

TEST_F(ScriptDriverTest, TimeoutKillsTheWholeProcessGroup) {
  package_file("scripts/Create.sh", R"SH(
sleep 30 &
echo $! > bg.pid
echo $$ > main.pid
sleep 30
)SH");
  Options o = options();
  o.default_timeout = 500ms;
  ScriptDriver driver(o);
  auto reporter = std::make_shared<FakeReporter>();
  auto r = request();
  r.reporter = reporter;
  const auto id = execute(driver, r);
  ASSERT_TRUE(eventually([&] { return !read_text(work_dir(id) / "main.pid").empty(); }));
  const pid_t background = std::stoi(read_text(work_dir(id) / "bg.pid"));
  const pid_t main = std::stoi(read_text(work_dir(id) / "main.pid"));

  const auto report = reporter->wait();
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(*report, LifecycleExecution::failed(id, FailureCode::internal_error,
                                                "lifecycle Create timed out after 0.5 s"));
  EXPECT_EQ(poll(driver, id), *report);
  EXPECT_TRUE(eventually([&] { return process_dead(background) && process_dead(main); }));
}

TEST_F(ScriptDriverTest, TimeoutEscalatesToSigkillWhenTermIsIgnored) {
  package_file("scripts/Create.sh", R"SH(
trap '' TERM
sleep 30 &
echo $! > bg.pid
sleep 30
)SH");
  ScriptDriver driver(options_timing_out());
  const auto id = execute(driver, request());
  ASSERT_TRUE(eventually([&] { return !read_text(work_dir(id) / "bg.pid").empty(); }));
  const pid_t background = std::stoi(read_text(work_dir(id) / "bg.pid"));
  const auto result = wait_terminal(driver, id);
  ASSERT_EQ(result.status, ExecutionStatus::failed);
  EXPECT_EQ(result.failure_details->description, "lifecycle Create timed out after 2 s");
  EXPECT_TRUE(eventually([&] { return process_dead(background); }));
}

TEST_F(ScriptDriverTest, TimeoutDescriptionEndsWithTheStderrTail) {
  package_file("scripts/Create.sh", "echo 'waiting for the VIM' >&2\nsleep 30\n");
  ScriptDriver driver(options_timing_out());
  const auto id = execute(driver, request());
  EXPECT_EQ(wait_terminal(driver, id),
            LifecycleExecution::failed(id, FailureCode::internal_error,
                                       "lifecycle Create timed out after 2 s; stderr: waiting "
                                       "for the VIM"));
}

TEST_F(ScriptDriverTest, TimeoutLeavesTheGracePeriodForCleanup) {
  package_file("scripts/Create.sh", R"SH(
trap 'sleep 0.2; echo cleaned > cleaned; exit 1' TERM
sleep 30 &
wait
)SH");
  Options o = options_timing_out();
  o.kill_grace = 3s;
  ScriptDriver driver(o);
  const auto id = execute(driver, request());
  const auto result = wait_terminal(driver, id);
  ASSERT_EQ(result.status, ExecutionStatus::failed);
  EXPECT_EQ(result.failure_details->description, "lifecycle Create timed out after 2 s");
  EXPECT_EQ(read_text(work_dir(id) / "cleaned"), "cleaned\n");
  EXPECT_EQ(read_text(work_dir(id) / "exit_status"), "1\n");  // the supervisor outlived it
}

TEST_F(ScriptDriverTest, ConcurrencyLimitQueuesExecutionsInOrder) {
  package_file("scripts/Create.sh",
               std::string(kWaitForGate) + "date +%s%N > \"$FLINT_WORK_DIR/ended\"\n");
  ScriptDriver driver(options(1));
  const auto first = execute(driver, request());
  const auto second = execute(driver, request());
  ASSERT_TRUE(eventually([&] { return fs::exists(work_dir(first) / "process.json"); }));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(driver.running(), 1u);
  EXPECT_EQ(driver.queued(), 1u);
  EXPECT_EQ(poll(driver, first).status, ExecutionStatus::in_progress);
  EXPECT_EQ(poll(driver, second).status, ExecutionStatus::in_progress);
  EXPECT_FALSE(fs::exists(work_dir(second) / "process.json"));  // not started
  EXPECT_FALSE(fs::exists(work_dir(second) / "stdout.log"));

  open_gate();
  EXPECT_EQ(wait_terminal(driver, first).status, ExecutionStatus::complete);
  EXPECT_EQ(wait_terminal(driver, second).status, ExecutionStatus::complete);
  EXPECT_LT(std::stoll(read_text(work_dir(first) / "ended")),
            std::stoll(read_text(work_dir(second) / "ended")));
  EXPECT_EQ(driver.queued(), 0u);
  EXPECT_TRUE(eventually([&] { return driver.running() == 0; }));
}

// Starts processes as the driver does, after failing `failures` times with
// `error`; counts the attempts.
struct FlakySpawner {
  std::shared_ptr<std::atomic<int>> attempts = std::make_shared<std::atomic<int>>(0);
  int failures = 0;
  int error = EAGAIN;
  ChildProcess operator()(const SpawnSpec& spec) const {
    if (++*attempts <= failures) {
      throw std::system_error(error, std::generic_category(), "spawn " + spec.argv.front());
    }
    return ChildProcess::spawn(spec);
  }
};

TEST_F(ScriptDriverTest, AProcessThatCannotStartForWantOfResourcesIsStartedLater) {
  package_file("scripts/Create.sh", "exit 0\n");
  const FlakySpawner spawner{.failures = 2};
  ScriptDriver driver(options(), spawner);
  const auto id = execute(driver, request());
  EXPECT_EQ(poll(driver, id).status, ExecutionStatus::in_progress);
  EXPECT_EQ(wait_terminal(driver, id).status, ExecutionStatus::complete);
  EXPECT_EQ(*spawner.attempts, 3);
}

TEST_F(ScriptDriverTest, AProcessThatCannotStartForAnotherReasonFailsAtOnce) {
  package_file("scripts/Create.sh", "exit 0\n");
  const FlakySpawner spawner{.failures = 1, .error = ENOENT};
  ScriptDriver driver(options(), spawner);
  const auto result = wait_terminal(driver, execute(driver, request()));
  ASSERT_EQ(result.status, ExecutionStatus::failed);
  EXPECT_EQ(result.failure_details->description,
            "lifecycle Create could not be started: spawn /bin/sh: No such file or directory");
  EXPECT_EQ(*spawner.attempts, 1);
}

TEST_F(ScriptDriverTest, StartingIsTriedForAsLongAsTheLifecyclesTimeout) {
  package_file("scripts/Create.sh", "exit 0\n");
  Options o = options();
  o.default_timeout = 1s;
  const FlakySpawner spawner{.failures = 1000};
  ScriptDriver driver(o, spawner);
  const auto started = std::chrono::steady_clock::now();
  const auto result = wait_terminal(driver, execute(driver, request()));
  ASSERT_EQ(result.status, ExecutionStatus::failed);
  // Tried at 0, 0.2 and 0.6 s; the next pause (0.8 s) would pass the timeout.
  EXPECT_EQ(result.failure_details->description,
            "lifecycle Create could not be started: spawn /bin/sh: Resource temporarily "
            "unavailable (3 attempts)");
  EXPECT_GE(std::chrono::steady_clock::now() - started, 600ms);
  EXPECT_EQ(*spawner.attempts, 3);
  EXPECT_TRUE(eventually([&] { return driver.running() == 0; }));
}

TEST_F(ScriptDriverTest, ADeliveredExecutionIsNotStartedAgain) {
  package_file("scripts/Create.sh", "exit 0\n");
  const FlakySpawner spawner{.failures = 1000};
  ScriptDriver driver(options(), spawner);
  const auto id = execute(driver, request());
  ASSERT_TRUE(eventually([&] { return *spawner.attempts >= 2; }));
  // The host gave up on it (its total deadline) and delivered FAILED.
  driver.on_execution_delivered(id, location_, context_);
  EXPECT_TRUE(eventually([&] { return !fs::exists(work_dir(id)); }));
  EXPECT_EQ(driver.running(), 0u);
  const int attempts = *spawner.attempts;
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(*spawner.attempts, attempts);
}

TEST_F(ScriptDriverTest, PushesTheTerminalStatusToTheReporter) {
  package_file("scripts/Create.sh",
               std::string(kWaitForGate) +
                   "echo '{\"outputs\": {\"pushed\": true}}' > \"$FLINT_RESULT_FILE\"\n");
  ScriptDriver driver(options());
  auto reporter = std::make_shared<FakeReporter>();
  auto r = request();
  r.reporter = reporter;
  const auto response = driver.execute_lifecycle(r, context_);
  EXPECT_TRUE(response.reports_completion);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(reporter->count(), 0u);
  open_gate();
  const auto report = reporter->wait();
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(*report,
            LifecycleExecution::complete(response.request_id, bj::object{{"pushed", true}}));
  EXPECT_EQ(poll(driver, response.request_id), *report);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(reporter->count(), 1u);
}

// Out of descriptors (EMFILE), or on an I/O error, the state files of a
// script that ended cannot be read for a while: that is not "never started",
// "interrupted" or a bad result file, but a poll to answer later (logged once).
TEST_F(ScriptDriverTest, AStateFileThatCannotBeReadNowIsReadAgainLater) {
  package_file("scripts/Create.sh",
               "echo '{\"outputs\": {\"done\": true}}' > \"$FLINT_RESULT_FILE\"\n");
  ScriptDriver driver(options());
  const auto id = execute(driver, request());
  const auto expected = LifecycleExecution::complete(id, bj::object{{"done", true}});
  ASSERT_EQ(wait_terminal(driver, id), expected);
  const std::vector<std::vector<std::string>> cases = {
      {"execution.json"},
      {"process.json"},
      {"exit_status"},
      {"result.json"},
      {"execution.json", "process.json", "exit_status", "result.json"}};
  for (const auto& names : cases) {
    context_.warnings_.clear();
    for (const auto& name : names) fs::permissions(work_dir(id) / name, fs::perms::none);
    {
      FilePermissionsApply permissions;
      for (int poll_count = 0; poll_count < 2; ++poll_count) {
        try {
          const auto state = poll(driver, id);
          ADD_FAILURE() << names.front() << ": unreadable, yet answered "
                        << sdk::to_string(state.status);
        } catch (const sdk::TemporaryHostError& error) {
          EXPECT_EQ(std::string(error.what()), "script driver: cannot read " +
                                                   (work_dir(id) / names.front()).string() +
                                                   ": Permission denied");
        }
      }
    }
    ASSERT_EQ(context_.warnings_.size(), 1u) << names.front();  // once, not at each poll
    EXPECT_THAT(context_.warnings_.front(),
                HasSubstr("script driver: request " + id + ": cannot read " +
                          (work_dir(id) / names.front()).string() + ": Permission denied"));
    for (const auto& name : names) {
      fs::permissions(work_dir(id) / name, fs::perms::owner_read | fs::perms::owner_write);
    }
    EXPECT_EQ(poll(driver, id), expected) << names.front();
  }
}

// The working directory is the host's: a script that takes its permissions
// away, or leaves read-only directories in it (an unpacked archive), must
// not keep its outcome from the host nor its credentials on disk. Flint's
// user is not root in production; here the capabilities that let root
// ignore permissions are dropped.
TEST_F(ScriptDriverTest, AWorkingDirectoryAScriptMadeReadOnlyIsReadAndRemoved) {
  package_file("scripts/Create.sh",
               "mkdir -p sub/deep && chmod 555 sub/deep sub\n"
               "echo '{\"outputs\": {\"a\": 1}}' > \"$FLINT_RESULT_FILE\"\n"
               "chmod 500 \"$FLINT_WORK_DIR\"\n");
  package_file("scripts/Delete.sh",
               "echo '{\"outputs\": {\"b\": 2}}' > \"$FLINT_RESULT_FILE\"\n"
               "chmod 000 \"$FLINT_WORK_DIR\"\n");
  FilePermissionsApply permissions;
  ScriptDriver driver(options());  // its threads and scripts are held to permissions too
  for (const auto& [lifecycle, outputs] :
       {std::pair{"Create", bj::object{{"a", 1}}}, std::pair{"Delete", bj::object{{"b", 2}}}}) {
    const std::string id = execute(driver, request(lifecycle));
    EXPECT_EQ(wait_terminal(driver, id, 5s), LifecycleExecution::complete(id, outputs))
        << lifecycle;
    driver.on_execution_delivered(id, location_, context_);
    EXPECT_FALSE(fs::exists(work_dir(id))) << lifecycle;
  }
}

TEST_F(ScriptDriverTest, AbandonedDirectoriesAScriptMadeReadOnlyAreRemovedAtStart) {
  package_file("scripts/Create.sh",
               "mkdir sub && chmod 000 sub && chmod 000 \"$FLINT_WORK_DIR\"\n");
  FilePermissionsApply permissions;
  std::string id;
  {
    ScriptDriver driver(options());
    id = execute(driver, request());
    EXPECT_EQ(wait_terminal(driver, id, 5s).status, ExecutionStatus::complete);
    fs::permissions(work_dir(id), fs::perms::none);  // as the script left it
  }                                                  // never delivered
  auto o = options();
  o.abandoned_after = 1ms;
  std::this_thread::sleep_for(10ms);
  ScriptDriver restarted(o);
  EXPECT_FALSE(fs::exists(work_dir(id)));
}

// Pushed, the outcome is read again until it can be: the host does not poll
// a driver that reports completion.
TEST_F(ScriptDriverTest, AnOutcomeThatCannotBeReadNowIsPushedOnceItCanBe) {
  package_file("scripts/Create.sh",
               "echo '{\"outputs\": {\"pushed\": true}}' > \"$FLINT_RESULT_FILE\"\n"
               "chmod 000 \"$FLINT_RESULT_FILE\"\n");
  std::optional<ScriptDriver> driver;
  {
    FilePermissionsApply permissions;  // the monitor thread, started now, keeps it
    driver.emplace(options());
  }
  auto reporter = std::make_shared<FakeReporter>();
  auto r = request();
  r.reporter = reporter;
  const auto id = execute(*driver, r);
  const fs::path result = work_dir(id) / "result.json";
  ASSERT_TRUE(eventually([&] { return fs::exists(work_dir(id) / "exit_status"); }));
  const auto early = reporter->wait(1500ms);  // a retry or two
  EXPECT_FALSE(early.has_value()) << "reported " << (early ? sdk::to_string(early->status) : "");
  fs::permissions(result, fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(reporter->wait(5s), LifecycleExecution::complete(id, bj::object{{"pushed", true}}));
  EXPECT_EQ(reporter->count(), 1u);
}

TEST_F(ScriptDriverTest, ANewDriverLearnsTheOutcomeAfterARestart) {
  package_file("scripts/Create.sh",
               std::string(kWaitForGate) +
                   "echo '{\"outputs\": {\"survived\": true}}' > \"$FLINT_RESULT_FILE\"\n");
  std::string running;
  std::string queued;
  {
    ScriptDriver driver(options(1));
    running = execute(driver, request());
    queued = execute(driver, request());
    ASSERT_TRUE(eventually([&] { return fs::exists(work_dir(running) / "process.json"); }));
  }  // the "host" stops; the script keeps running
  ScriptDriver restarted(options(1));
  EXPECT_EQ(poll(restarted, running).status, ExecutionStatus::in_progress);
  EXPECT_EQ(poll(restarted, queued),
            LifecycleExecution::failed(queued, FailureCode::internal_error,
                                       "lifecycle Create never started: the host stopped while "
                                       "it was queued (host restart?)"));
  open_gate();
  EXPECT_EQ(wait_terminal(restarted, running),
            LifecycleExecution::complete(running, bj::object{{"survived", true}}));
}

// A power loss soon after a script ended must not lose its exit code or its
// result: the supervisor syncs both before the code's file gets its name, and
// the directory after. A `sync` first in PATH records how it was called.
TEST_F(ScriptDriverTest, TheExitCodeAndResultAreSyncedBeforeTheCodeIsNamed) {
  const TempDir bin;
  const fs::path calls = bin.path() / "calls";
  {
    std::ofstream recorder(bin.path() / "sync");
    recorder << "#!/bin/sh\n"
                "if [ -e exit_status ]; then named=named; else named=unnamed; fi\n"
                "echo \"$named $*\" >> '"
             << calls.string()
             << "'\n"
                "exec /bin/sync \"$@\"\n";
  }
  fs::permissions(bin.path() / "sync", fs::perms::owner_all);
  const std::string saved_path = std::getenv("PATH");
  ::setenv("PATH", (bin.path().string() + ":" + saved_path).c_str(), 1);
  package_file("scripts/Create.sh", "echo '{\"outputs\": {\"a\": 1}}' > \"$FLINT_RESULT_FILE\"\n");
  package_file("scripts/Delete.sh", "exit 0\n");
  ScriptDriver driver(options());
  ::setenv("PATH", saved_path.c_str(), 1);

  const std::string with_result = execute(driver, request("Create"));
  EXPECT_EQ(wait_terminal(driver, with_result),
            LifecycleExecution::complete(with_result, bj::object{{"a", 1}}));
  EXPECT_EQ(read_text(calls), "unnamed -- exit_status.tmp result.json\nnamed -- .\n");

  fs::remove(calls);
  const std::string without_result = execute(driver, request("Delete"));
  EXPECT_EQ(wait_terminal(driver, without_result).status, ExecutionStatus::complete);
  EXPECT_EQ(read_text(calls), "unnamed -- exit_status.tmp\nnamed -- .\n");
}

TEST_F(ScriptDriverTest, AScriptKilledWithTheHostIsReportedInterrupted) {
  package_file("scripts/Create.sh", std::string(kWaitForGate));
  std::string id;
  {
    ScriptDriver driver(options());
    id = execute(driver, request());
    ASSERT_TRUE(eventually([&] { return fs::exists(work_dir(id) / "process.json"); }));
  }
  const auto process = bj::parse(read_text(work_dir(id) / "process.json")).as_object();
  const auto pgid = static_cast<pid_t>(process.at("pgid").as_int64());
  ::kill(-pgid, SIGKILL);  // e.g. the service manager killed the whole cgroup
  ScriptDriver restarted(options());
  const auto result = wait_terminal(restarted, id);
  EXPECT_EQ(result, LifecycleExecution::failed(
                        id, FailureCode::internal_error,
                        "lifecycle Create was interrupted: the script ended without recording an "
                        "exit status (host restart?)"));
  ::waitpid(pgid, nullptr, 0);  // this test process was its parent
}

// The supervisor cannot record the exit status (on a full disk, or here a
// directory in the way of its file): the driver that reaped it still knows
// the outcome, and no restart happened to blame.
TEST_F(ScriptDriverTest, TheOutcomeOfAScriptWhoseExitStatusCannotBeWrittenIsKept) {
  ScriptDriver driver(options());
  for (const int code : {0, 3}) {
    package_file("scripts/Create.sh", "mkdir exit_status.tmp\necho 'quota exceeded' >&2\nexit " +
                                          std::to_string(code) + "\n");
    auto r = request();
    auto reporter = std::make_shared<FakeReporter>();
    r.reporter = reporter;
    const auto id = execute(driver, r);
    const auto expected = code == 0 ? LifecycleExecution::complete(id)
                                    : LifecycleExecution::failed(id, FailureCode::internal_error,
                                                                 "exit code 3: quota exceeded");
    EXPECT_EQ(reporter->wait(), expected) << code;
    EXPECT_EQ(wait_terminal(driver, id), expected) << code;
    EXPECT_FALSE(fs::exists(work_dir(id) / "exit_status")) << code;
    driver.on_execution_delivered(id, location_, context_);
    EXPECT_FALSE(fs::exists(work_dir(id))) << code;
  }
}

TEST_F(ScriptDriverTest, AKeptOutcomeIsWrittenOnceItsDirectoryTakesWritesAgain) {
  package_file("scripts/Create.sh", "mkdir exit_status.tmp\necho 'disk full' >&2\nexit 3\n");
  std::string id;
  const auto expected = [&] {
    return LifecycleExecution::failed(id, FailureCode::internal_error, "exit code 3: disk full");
  };
  {
    ScriptDriver driver(options());
    id = execute(driver, request());
    EXPECT_EQ(wait_terminal(driver, id), expected());
    std::this_thread::sleep_for(1200ms);
    EXPECT_FALSE(fs::exists(work_dir(id) / "exit_status"));  // still cannot be written
    fs::remove(work_dir(id) / "exit_status.tmp");            // space again
    EXPECT_TRUE(eventually([&] { return fs::exists(work_dir(id) / "exit_status"); }, 3s));
  }
  // A host restart before the delivery learns the outcome from the file.
  ScriptDriver restarted(options());
  EXPECT_EQ(poll(restarted, id), expected());
}

TEST_F(ScriptDriverTest, ATimeoutIsReportedWhenNeitherItsMarkerNorTheExitStatusCanBeWritten) {
  package_file("scripts/Create.sh", "mkdir exit_status.tmp timed_out.tmp\nsleep 30\n");
  ScriptDriver driver(options_timing_out());
  const auto id = execute(driver, request());
  EXPECT_EQ(wait_terminal(driver, id),
            LifecycleExecution::failed(id, FailureCode::internal_error,
                                       "lifecycle Create timed out after 2 s"));
  EXPECT_FALSE(fs::exists(work_dir(id) / "timed_out"));
}

TEST_F(ScriptDriverTest, ARestartedDriverEnforcesTheRecordedTimeout) {
  package_file("scripts/Create.sh", "sleep 30\n");
  Options o = options();
  o.default_timeout = 300ms;
  std::string id;
  pid_t pgid = 0;
  {
    ScriptDriver driver(o);
    id = execute(driver, request());
    ASSERT_TRUE(eventually([&] { return fs::exists(work_dir(id) / "process.json"); }));
    pgid = static_cast<pid_t>(
        bj::parse(read_text(work_dir(id) / "process.json")).at("pgid").as_int64());
  }  // stopped before the timeout fired
  ScriptDriver restarted(o);
  const auto result = wait_terminal(restarted, id);
  EXPECT_EQ(result, LifecycleExecution::failed(id, FailureCode::internal_error,
                                               "lifecycle Create timed out after 0.3 s"));
  EXPECT_TRUE(eventually([&] { return process_dead(pgid); }));
  ::waitpid(pgid, nullptr, 0);
}

// The wall clock set while the host was down (an NTP step, a VM restored)
// must neither stretch nor cut a script's timeout: the recorded deadline is
// read on the boot clock. Here the wall-clock deadline says "an hour ago",
// as after the clock was set an hour ahead.
TEST_F(ScriptDriverTest, ARestartedDriverTimesScriptsOutByTheBootClock) {
  package_file("scripts/Create.sh", std::string(kWaitForGate));
  Options o = options();
  o.default_timeout = 60s;
  const std::string id = start_before_restart(o);
  edit_process_record(id, [](bj::object& process) {
    ASSERT_TRUE(process.contains("deadlineBootMs"));
    process["deadlineUnixMs"] = process.at("deadlineUnixMs").as_int64() - 3'600'000 - 60'000;
  });

  ScriptDriver restarted(o);
  EXPECT_EQ(poll(restarted, id).status, ExecutionStatus::in_progress);
  open_gate();
  EXPECT_EQ(wait_terminal(restarted, id).status, ExecutionStatus::complete);
}

// After a reboot the recorded process group died with the script, and its
// id may be another's: a record from another boot is never taken for a
// running script (here the group still runs, standing for a reused id).
TEST_F(ScriptDriverTest, AProcessGroupRecordedInAnotherBootIsNotTheScripts) {
  package_file("scripts/Create.sh", std::string(kWaitForGate));
  const std::string id = start_before_restart(options());
  pid_t pgid = 0;
  edit_process_record(id, [&](bj::object& process) {
    ASSERT_TRUE(process.contains("bootId"));
    pgid = static_cast<pid_t>(process.at("pgid").as_int64());
    process["bootId"] = "00000000-0000-0000-0000-000000000000";
  });

  ScriptDriver restarted(options());
  EXPECT_EQ(poll(restarted, id),
            LifecycleExecution::failed(
                id, FailureCode::internal_error,
                "lifecycle Create was interrupted: the script ended without recording an exit "
                "status (host restart?)"));
  ::kill(-pgid, SIGKILL);
  ::waitpid(pgid, nullptr, 0);
}

TEST_F(ScriptDriverTest, ARestartedDriverKillsAScriptIgnoringTermAfterTheGrace) {
  // SIGTERM alone, then a terminal answer, left it running: nothing polls a
  // delivered execution again, so its SIGKILL never came.
  package_file("scripts/Create.sh", "trap '' TERM\necho $$ > main.pid\nsleep 30\n");
  const Options o = options_timing_out();
  std::string id;
  {
    ScriptDriver driver(o);
    id = execute(driver, request());
    ASSERT_TRUE(eventually([&] { return !read_text(work_dir(id) / "main.pid").empty(); }));
  }
  const pid_t main = std::stoi(read_text(work_dir(id) / "main.pid"));
  ScriptDriver restarted(o);
  EXPECT_EQ(wait_terminal(restarted, id),
            LifecycleExecution::failed(id, FailureCode::internal_error,
                                       "lifecycle Create timed out after 2 s"));
  EXPECT_TRUE(eventually([&] { return process_dead(main); }));
}

TEST_F(ScriptDriverTest, ARestartedDriverStopsATakenOverScriptWhenItsOutcomeIsDelivered) {
  // The host gave up on it (total timeout): it must not go on, restart or not.
  package_file("scripts/Create.sh", "echo $$ > main.pid\nsleep 30\n");
  std::string id;
  {
    ScriptDriver driver(options());
    id = execute(driver, request());
    ASSERT_TRUE(eventually([&] { return !read_text(work_dir(id) / "main.pid").empty(); }));
  }
  const pid_t main = std::stoi(read_text(work_dir(id) / "main.pid"));
  ScriptDriver restarted(options());
  EXPECT_EQ(poll(restarted, id).status, ExecutionStatus::in_progress);
  restarted.on_execution_delivered(id, location_, context_);
  EXPECT_TRUE(eventually([&] { return process_dead(main); }));
  EXPECT_FALSE(fs::exists(work_dir(id)));
}

TEST_F(ScriptDriverTest, ATakenOverScriptsDirectoryIsRemovedOnceItsKilledProcessesAreGone) {
  // A member that ignores SIGTERM and keeps adding files to the directory:
  // until it has exited, a removal could find the directory refilled.
  package_file("scripts/Create.sh",
               "trap '' TERM\n(i=0; while :; do i=$((i+1)); : > \"w.$i\"; done) &\n"
               "echo $! > writer.pid\nsleep 30\n");
  std::string id;
  {
    ScriptDriver driver(options());
    id = execute(driver, request());
    ASSERT_TRUE(eventually([&] { return !read_text(work_dir(id) / "writer.pid").empty(); }));
  }
  const pid_t writer = std::stoi(read_text(work_dir(id) / "writer.pid"));
  ScriptDriver restarted(options());
  EXPECT_EQ(poll(restarted, id).status, ExecutionStatus::in_progress);
  restarted.on_execution_delivered(id, location_, context_);
  EXPECT_FALSE(fs::exists(work_dir(id)));
  EXPECT_TRUE(eventually([&] { return process_dead(writer); }));
}

TEST_F(ScriptDriverTest, ARestartedDriverKillsWhatAFinishedScriptLeftInItsGroup) {
  package_file("scripts/Create.sh",
               std::string(kWaitForGate) + "sleep 30 &\necho $! > bg.pid\nexit 0\n");
  std::string id;
  {
    ScriptDriver driver(options());
    id = execute(driver, request());
    ASSERT_TRUE(eventually([&] { return fs::exists(work_dir(id) / "process.json"); }));
  }
  ScriptDriver restarted(options());
  open_gate();
  EXPECT_EQ(wait_terminal(restarted, id).status, ExecutionStatus::complete);
  const pid_t background = std::stoi(read_text(work_dir(id) / "bg.pid"));
  EXPECT_TRUE(eventually([&] { return process_dead(background); }));
}

TEST_F(ScriptDriverTest, ScriptsTakenOverAfterARestartHoldTheirSlots) {
  package_file("scripts/Create.sh", std::string(kWaitForGate));
  std::string first;
  {
    ScriptDriver driver(options(1));
    first = execute(driver, request());
    ASSERT_TRUE(eventually([&] { return fs::exists(work_dir(first) / "process.json"); }));
  }
  ScriptDriver restarted(options(1));
  const auto second = execute(restarted, request());
  std::this_thread::sleep_for(500ms);
  EXPECT_FALSE(fs::exists(work_dir(second) / "process.json"))
      << "started beside the taken-over script: max_concurrent is 1";
  open_gate();
  EXPECT_EQ(wait_terminal(restarted, first).status, ExecutionStatus::complete);
  EXPECT_EQ(wait_terminal(restarted, second).status, ExecutionStatus::complete);
}

TEST_F(ScriptDriverTest, AbandonedWorkingDirectoriesAreRemovedAtStart) {
  // Left by a host killed before it recorded the execution: nobody asks for them.
  const auto orphan = [&](const std::string& id, std::chrono::hours age) {
    fs::create_directories(work_dir(id));
    std::ofstream(work_dir(id) / "request.json") << R"({"password":"s3cret"})";
    fs::last_write_time(work_dir(id), fs::file_time_type::clock::now() - age);
  };
  const std::string old_id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
  const std::string recent_id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c";
  orphan(old_id, 3h);
  orphan(recent_id, 1h);
  fs::create_directories(work_dir("not-a-request-id"));
  fs::last_write_time(work_dir("not-a-request-id"), fs::file_time_type::clock::now() - 3h);
  Options o = options();
  o.abandoned_after = 2h;
  ScriptDriver driver(o);
  EXPECT_FALSE(fs::exists(work_dir(old_id)));
  EXPECT_TRUE(fs::exists(work_dir(recent_id)));           // the host may still poll it
  EXPECT_TRUE(fs::exists(work_dir("not-a-request-id")));  // not the driver's
}

TEST_F(ScriptDriverTest, AScriptStillRunningKeepsItsOldDirectory) {
  package_file("scripts/Create.sh", kWaitForGate);
  std::string id;
  {
    ScriptDriver driver(options());
    id = execute(driver, request());
    ASSERT_TRUE(eventually([&] { return fs::exists(work_dir(id) / "process.json"); }));
  }
  fs::last_write_time(work_dir(id), fs::file_time_type::clock::now() - 3h);
  Options o = options();
  o.abandoned_after = 2h;
  ScriptDriver restarted(o);
  EXPECT_TRUE(fs::exists(work_dir(id)));
  open_gate();
  EXPECT_EQ(wait_terminal(restarted, id).status, ExecutionStatus::complete);
}

TEST_F(ScriptDriverTest, UnknownRequestIdsAreNotFound) {
  ScriptDriver driver(options());
  EXPECT_THROW(poll(driver, "7f1c1f5e-0d5e-4b8e-9a57-2f0e3f6d9c11"), sdk::RequestNotFoundError);
  EXPECT_THROW(poll(driver, "../../etc"), sdk::RequestNotFoundError);
  EXPECT_THROW(poll(driver, ""), sdk::RequestNotFoundError);
  driver.on_execution_delivered("../../etc", location_, context_);  // ignored
}

TEST_F(ScriptDriverTest, RejectsInvalidOptionsAndMissingDriverFiles) {
  Options o = options();
  o.max_concurrent = 0;
  EXPECT_THROW(ScriptDriver{o}, std::invalid_argument);
  o = options();
  o.default_timeout = 0ms;
  EXPECT_THROW(ScriptDriver{o}, std::invalid_argument);
  o = options();
  o.shell = "sh";
  EXPECT_THROW(ScriptDriver{o}, std::invalid_argument);

  ScriptDriver driver(options());
  auto r = request();
  r.driver_files = {};
  EXPECT_THROW(execute(driver, r), sdk::InvalidDriverFilesError);
}

TEST_F(ScriptDriverTest, TheExamplePackageRuns) {
  ScriptDriver driver(options());
  auto r = request("Create");
  r.driver_files = sdk::DirectoryTree(fs::path(FLINT_SCRIPT_TESTDATA) / "example");
  r.resource_properties = {{"flavor", Property::string("m1.small")}};
  const auto id = execute(driver, r);
  const auto result = wait_terminal(driver, id);
  ASSERT_EQ(result.status, ExecutionStatus::complete) << result.failure_details->description;
  EXPECT_EQ(result.outputs, (bj::object{{"instanceName", "vm one"}, {"flavor", "m1.small"}}));
  sdk::AssociatedTopology topology;
  topology.add("vm", {"vm-" + id, "Example"});
  EXPECT_EQ(result.associated_topology, topology);

  r.lifecycle_name = "Delete";
  const auto deleted = wait_terminal(driver, execute(driver, r));
  ASSERT_EQ(deleted.status, ExecutionStatus::complete);
  EXPECT_FALSE(deleted.associated_topology.find("vm")->has_value());  // removal

  r.lifecycle_name = "Create";
  r.system_properties = {};
  const auto failed = wait_terminal(driver, execute(driver, r));
  ASSERT_EQ(failed.status, ExecutionStatus::failed);
  EXPECT_EQ(failed.failure_details->code, FailureCode::resource_not_found);
}

class ScriptDriverFindTest : public ScriptDriverTest {
 protected:
  sdk::FindReferenceResponse find(ScriptDriver& driver, std::string instance = "vm-1") {
    sdk::FindReferenceRequest r;
    r.instance_name = std::move(instance);
    r.driver_files = sdk::DirectoryTree(package_.path());
    r.deployment_location = {"dl", "Test", {}};
    return driver.find_reference(r, context_);
  }
  std::string find_error(ScriptDriver& driver) {
    try {
      find(driver);
    } catch (const sdk::ResourceDriverError& error) {
      return error.what();
    }
    return "<no error>";
  }
};

// The host's own file system fails (full, or here not a directory any more):
// retry later, and never the target's fault (a TemporaryHostError is not
// counted on its circuit breaker).
TEST_F(ScriptDriverFindTest, AFailingWorkingDirectoryIsTheHostsTemporaryTrouble) {
  package_file("scripts/Create.sh", "exit 0\n");
  package_file("scripts/Find.sh", "exit 0\n");
  ScriptDriver driver(options());
  const fs::path executions = work_.path() / "executions";
  fs::remove_all(executions);
  write_package_file(work_.path(), "executions", "in the way");
  try {
    execute(driver, request());
    ADD_FAILURE() << "execute went ahead without a working directory";
  } catch (const sdk::TemporaryHostError& error) {
    EXPECT_THAT(error.what(),
                StartsWith("script driver: cannot prepare the working directory: create " +
                           executions.string() + "/"));
    EXPECT_THAT(error.what(), HasSubstr(": Not a directory"));
  }
  try {
    find(driver);
    ADD_FAILURE() << "find went ahead without a working directory";
  } catch (const sdk::TemporaryHostError& error) {
    EXPECT_THAT(error.what(), StartsWith("script driver: cannot start the Find script: create " +
                                         executions.string() + "/.find/"));
    EXPECT_THAT(error.what(), HasSubstr(": Not a directory"));
  }
}

TEST_F(ScriptDriverFindTest, FoundFromTheResultFile) {
  package_file("scripts/Find.sh", R"SH(
grep -q '"instanceName":"vm-1"' "$FLINT_REQUEST_FILE" || exit 9
[ "$FLINT_LIFECYCLE" = Find ] || exit 8
echo '{"resourceId": "res-vm-1", "outputs": {"ip": "10.0.0.9"},
       "associatedTopology": {"vm": {"id": "i-9", "type": "Openstack"}}}' > "$FLINT_RESULT_FILE"
)SH");
  ScriptDriver driver(options());
  const auto response = find(driver);
  ASSERT_TRUE(response.result.has_value());
  EXPECT_EQ(response.result->resource_id, "res-vm-1");
  EXPECT_EQ(response.result->outputs, (bj::object{{"ip", "10.0.0.9"}}));
  EXPECT_EQ(response.result->associated_topology.size(), 1u);
  EXPECT_TRUE(fs::is_empty(work_.path() / "executions" / ".find"));  // cleaned up
}

TEST_F(ScriptDriverFindTest, NotFoundWithoutResultOrWithoutScript) {
  ScriptDriver driver(options());
  EXPECT_FALSE(find(driver).result.has_value());  // no Find script at all
  package_file("scripts/Find.sh", "exit 0\n");
  EXPECT_FALSE(find(driver).result.has_value());
  package_file("scripts/Find.sh", "echo '{}' > \"$FLINT_RESULT_FILE\"\n");
  EXPECT_FALSE(find(driver).result.has_value());
}

// A result file that cannot be read now says nothing of what Find found:
// neither "nothing" nor a malformed result, but the host's trouble (503).
TEST_F(ScriptDriverFindTest, AResultFileThatCannotBeReadNowIsTheHostsTemporaryTrouble) {
  package_file("scripts/Find.sh",
               "echo '{\"resourceId\": \"r-1\"}' > \"$FLINT_RESULT_FILE\"\n"
               "chmod 000 \"$FLINT_RESULT_FILE\"\n");
  ScriptDriver driver(options());
  FilePermissionsApply permissions;
  try {
    find(driver);
    ADD_FAILURE() << "an unreadable result was taken as an answer";
  } catch (const sdk::TemporaryHostError& error) {
    EXPECT_THAT(error.what(), StartsWith("script driver: the Find script ended, but cannot read " +
                                         (work_.path() / "executions" / ".find").string() + "/"));
    EXPECT_THAT(error.what(), HasSubstr("/result.json: Permission denied"));
  }
}

TEST_F(ScriptDriverFindTest, FailingFindRaisesWithTheStderrTail) {
  package_file("scripts/Find.sh", "echo 'cannot list servers' >&2; exit 4\n");
  ScriptDriver driver(options());
  EXPECT_EQ(find_error(driver), "script driver: Find failed with exit code 4: cannot list servers");
}

TEST_F(ScriptDriverFindTest, FindTimeoutNamesTheStderrTail) {
  package_file("scripts/Find.sh", "echo 'listing servers' >&2; sleep 30\n");
  Options o = options();
  o.default_timeout = 1s;
  ScriptDriver driver(o);
  EXPECT_EQ(find_error(driver), "script driver: Find timed out after 1 s; stderr: listing servers");
}

TEST_F(ScriptDriverFindTest, FindPastTheCallDeadlineIsKilled) {
  package_file("scripts/Find.sh", "sleep 30 & echo $! > \"$FLINT_DRIVER_FILES/bg.pid\"; wait\n");
  ScriptDriver driver(options());
  context_.deadline_ = std::chrono::steady_clock::now() + 300ms;
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(find_error(driver), "script driver: Find did not finish before the call's deadline");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  const pid_t background = std::stoi(read_text(package_.path() / "bg.pid"));
  EXPECT_TRUE(eventually([&] { return process_dead(background); }));
}

TEST_F(ScriptDriverFindTest, AResultFileThatIsNotARegularFileIsMalformed) {
  package_file("scripts/Find.sh", "mkfifo \"$FLINT_RESULT_FILE\"\n");
  ScriptDriver driver(options());
  EXPECT_EQ(find_error(driver), "Find script: malformed result file: not a regular file");
}

TEST_F(ScriptDriverFindTest, PrivateKeysOnStderrAreMasked) {
  std::string key = "-----BEGIN OPENSSH PRIVATE KEY-----\n";
  for (int i = 0; i < 50; ++i) key += "KEYLINE" + std::to_string(i) + std::string(56, 'q') + "\n";
  key += "-----END OPENSSH PRIVATE KEY-----\n";
  package_file("key.pem", key);
  package_file("scripts/Find.sh", "cat \"$FLINT_DRIVER_FILES/key.pem\" >&2\nexit 2\n");
  ScriptDriver driver(options());  // the default 2048-byte tail: shorter than the key
  EXPECT_EQ(find_error(driver), "script driver: Find failed with exit code 2: ****");
}

TEST_F(ScriptDriverFindTest, AFindOutlivingItsHostIsKilled) {
  // The host process dies during the call (kill -9, or a stop that gives up
  // on it): the Find's process group must not run on.
  package_file("scripts/Find.sh", "sleep 60 & echo $! > \"$FLINT_DRIVER_FILES/bg.pid\"; wait\n");
  const pid_t host = ::fork();
  ASSERT_GE(host, 0);
  if (host == 0) {
    ScriptDriver driver(options());
    try {
      find(driver);
    } catch (...) {
    }
    ::_exit(0);
  }
  const auto pid_file = package_.path() / "bg.pid";
  ASSERT_TRUE(eventually([&] { return !read_text(pid_file).empty(); }));
  const pid_t background = std::stoi(read_text(pid_file));
  ::kill(host, SIGKILL);
  ::waitpid(host, nullptr, 0);
  EXPECT_TRUE(eventually([&] { return process_dead(background); }));
  // Its directory goes too, credentials included.
  EXPECT_TRUE(eventually([&] { return fs::is_empty(work_.path() / "executions" / ".find"); }));
}

TEST_F(ScriptDriverFindTest, StartingRemovesLeftoverFindDirectories) {
  // Left by a host that died with its watchdog (e.g. the whole cgroup was killed).
  const auto leftover =
      work_.path() / "executions" / ".find" / "01900000-0000-7000-8000-000000000000";
  fs::create_directories(leftover);
  write_package_file(leftover, "request.json", "{\"password\": \"s3cret\"}");
  ScriptDriver driver(options());
  EXPECT_FALSE(fs::exists(work_.path() / "executions" / ".find"));
}

TEST_F(ScriptDriverFindTest, AFinishedFindLeavesNoProcessBehind) {
  package_file("scripts/Find.sh", "exit 0\n");
  ScriptDriver driver(options());
  EXPECT_FALSE(find(driver).result.has_value());
  // The watchdog was killed and reaped: no process of that name is left.
  const std::string self = std::to_string(::getpid());
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string stat = read_text(entry.path() / "stat");
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    const bool our_child = stat.substr(close + 4, self.size() + 1) == self + " ";
    if (our_child) {
      EXPECT_EQ(read_text(entry.path() / "cmdline").find("flint-find-watchdog"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace flint::drivers::script
