#include "noop/noop_driver.hpp"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

namespace flint::drivers::noop {
namespace {

namespace bj = boost::json;
using sdk::ExecutionStatus;
using sdk::Property;

class FakeContext : public sdk::CallContext {
 public:
  std::string_view tenant_id() const noexcept override { return {}; }
  const TraceFields& trace_context() const noexcept override { return trace_; }
  std::chrono::steady_clock::time_point deadline() const noexcept override {
    return std::chrono::steady_clock::now() + std::chrono::minutes(1);
  }
  void write_log(sdk::LogLevel, std::string_view, std::span<const sdk::LogField>) override {}

 private:
  TraceFields trace_;
};

sdk::ExecuteLifecycleRequest make_request(sdk::PropertyMap request_properties = {},
                                          sdk::PropertyMap resource_properties = {}) {
  sdk::ExecuteLifecycleRequest request;
  request.lifecycle_name = "Install";
  request.request_properties = std::move(request_properties);
  request.resource_properties = std::move(resource_properties);
  request.deployment_location.name = "dl";
  return request;
}

sdk::FindReferenceRequest make_find(bj::object properties) {
  sdk::FindReferenceRequest request;
  request.instance_name = "inst";
  request.deployment_location = {"dl", "Test", std::move(properties)};
  return request;
}

class NoopDriverTest : public ::testing::Test {
 protected:
  sdk::LifecycleExecution poll(NoopDriver& driver, const std::string& id) {
    return driver.get_lifecycle_execution(id, location_, context_);
  }
  // The message of the InvalidRequestError thrown by `call`.
  template <typename Call>
  static std::string invalid_message(Call call) {
    try {
      call();
    } catch (const sdk::InvalidRequestError& error) {
      return error.what();
    }
    return "<no InvalidRequestError>";
  }

  FakeContext context_;
  sdk::DeploymentLocation location_{"dl", "Test", {}};
};

// The COMPLETE outcome that the tests scripting noop.outputs and noop.topology ask for.
void expect_scripted_completion(const sdk::LifecycleExecution& execution) {
  EXPECT_EQ(execution.status, ExecutionStatus::complete);
  EXPECT_EQ(execution.outputs, bj::parse(R"({"ip":"10.0.0.1","port":22})").as_object());
  ASSERT_EQ(execution.associated_topology.size(), 2u);
  EXPECT_EQ(execution.associated_topology.find("vm")->value(),
            (sdk::TopologyEntry{"i-1", "Openstack"}));
  EXPECT_FALSE(execution.associated_topology.find("old")->has_value());
}

TEST_F(NoopDriverTest, DefaultsCompleteAtOnceWithUuidIds) {
  NoopDriver driver;
  auto response = driver.execute_lifecycle(make_request(), context_);
  EXPECT_EQ(response.request_id.size(), 36u);
  EXPECT_EQ(response.request_id[14], '7');  // UUID version 7: time-ordered
  EXPECT_TRUE(response.associated_topology.empty());
  auto other = driver.execute_lifecycle(make_request(), context_);
  EXPECT_NE(response.request_id, other.request_id);

  auto execution = poll(driver, response.request_id);
  EXPECT_EQ(execution, sdk::LifecycleExecution::complete(response.request_id));
  EXPECT_EQ(poll(driver, response.request_id), execution);  // idempotent
  EXPECT_EQ(driver.active_requests(), 2u);
}

TEST_F(NoopDriverTest, PollsInProgressThenTerminal) {
  NoopDriver driver;
  auto id = driver
                .execute_lifecycle(make_request({{"noop.pollsInProgress", Property::integer(2)}}),
                                   context_)
                .request_id;
  EXPECT_EQ(poll(driver, id).status, ExecutionStatus::in_progress);
  EXPECT_EQ(poll(driver, id).status, ExecutionStatus::in_progress);
  EXPECT_EQ(poll(driver, id).status, ExecutionStatus::complete);
  EXPECT_EQ(poll(driver, id).status, ExecutionStatus::complete);
}

TEST_F(NoopDriverTest, FailedOutcomeWithCodeAndDescription) {
  NoopDriver driver;
  auto id = driver
                .execute_lifecycle(
                    make_request({{"noop.outcome", Property::string("FAILED")},
                                  {"noop.failureCode", Property::string("INSUFFICIENT_CAPACITY")},
                                  {"noop.failureDescription", Property::string("full")}}),
                    context_)
                .request_id;
  EXPECT_EQ(poll(driver, id),
            sdk::LifecycleExecution::failed(id, sdk::FailureCode::insufficient_capacity, "full"));
}

TEST_F(NoopDriverTest, FailedOutcomeUsesOptionDefaults) {
  Options options;
  options.outcome = Outcome::failed;
  options.failure_code = sdk::FailureCode::infrastructure_error;
  options.failure_description = "configured";
  options.polls_in_progress = 1;
  NoopDriver driver(options);
  auto id = driver.execute_lifecycle(make_request(), context_).request_id;
  EXPECT_EQ(poll(driver, id).status, ExecutionStatus::in_progress);
  EXPECT_EQ(poll(driver, id), sdk::LifecycleExecution::failed(
                                  id, sdk::FailureCode::infrastructure_error, "configured"));
}

TEST_F(NoopDriverTest, RequestPropertiesOverrideResourceProperties) {
  NoopDriver driver;
  auto request = make_request({{"noop.outcome", Property::string("COMPLETE")},
                               {"noop.failureCode", Property("string", nullptr)}},
                              {{"noop.outcome", Property::string("FAILED")},
                               {"noop.failureCode", Property::string("RESOURCE_NOT_FOUND")},
                               {"noop.pollsInProgress", Property::string("1")}});
  auto id = driver.execute_lifecycle(request, context_).request_id;
  EXPECT_EQ(poll(driver, id).status, ExecutionStatus::in_progress);  // from resource properties
  EXPECT_EQ(poll(driver, id).status, ExecutionStatus::complete);     // request wins

  // A null request value falls back to the resource property.
  request.request_properties.erase("noop.outcome");
  auto failed_id = driver.execute_lifecycle(request, context_).request_id;
  poll(driver, failed_id);
  auto failed = poll(driver, failed_id);
  ASSERT_TRUE(failed.failure_details);
  EXPECT_EQ(failed.failure_details->code, sdk::FailureCode::resource_not_found);
}

TEST_F(NoopDriverTest, OutputsAndTopology) {
  NoopDriver driver;
  auto request = make_request(
      {{"noop.outputs", Property("map", bj::parse(R"({"ip":"10.0.0.1","port":22})"))},
       {"noop.topology", Property("map", bj::parse(R"({"vm":{"id":"i-1","type":"Openstack"},
                                                        "old":null})"))},
       {"noop.acceptTopology", Property("map", bj::parse(R"({"net":{"id":"n","type":"N"}})"))}});
  auto response = driver.execute_lifecycle(request, context_);
  ASSERT_EQ(response.associated_topology.size(), 1u);
  EXPECT_EQ(response.associated_topology.find("net")->value(), (sdk::TopologyEntry{"n", "N"}));

  auto execution = poll(driver, response.request_id);
  expect_scripted_completion(execution);
}

TEST_F(NoopDriverTest, RaiseOnExecuteThrowsTheKindAndKeepsNothing) {
  NoopDriver driver;
  for (auto kind :
       {sdk::ErrorKind::invalid_request, sdk::ErrorKind::invalid_lifecycle_name,
        sdk::ErrorKind::invalid_driver_files, sdk::ErrorKind::request_not_found,
        sdk::ErrorKind::unreachable_location, sdk::ErrorKind::temporary, sdk::ErrorKind::driver}) {
    auto request = make_request({{"noop.raise", Property::string(sdk::to_string(kind))}});
    try {
      driver.execute_lifecycle(request, context_);
      ADD_FAILURE() << "no error for " << sdk::to_string(kind);
    } catch (const sdk::DriverError& error) {
      EXPECT_EQ(error.kind(), kind);
      EXPECT_EQ(std::string(error.what()), "noop driver: " + std::string(sdk::to_string(kind)) +
                                               " raised as requested by noop.raise");
    }
  }
  EXPECT_THROW(driver.execute_lifecycle(
                   make_request({{"noop.raise", Property::string("temporary")}}), context_),
               sdk::TemporaryDriverError);
  EXPECT_EQ(driver.active_requests(), 0u);
}

TEST_F(NoopDriverTest, RaiseOnPollLimitedTimesThenProceeds) {
  NoopDriver driver;
  auto id =
      driver
          .execute_lifecycle(make_request({{"noop.raiseOnPoll", Property::string("temporary")},
                                           {"noop.raiseOnPollTimes", Property::integer(2)}}),
                             context_)
          .request_id;
  EXPECT_THROW(poll(driver, id), sdk::TemporaryDriverError);
  EXPECT_THROW(poll(driver, id), sdk::TemporaryDriverError);
  EXPECT_EQ(poll(driver, id).status, ExecutionStatus::complete);
}

TEST_F(NoopDriverTest, RaiseOnPollUnlimitedByDefault) {
  NoopDriver driver;
  auto id = driver
                .execute_lifecycle(make_request({{"noop.raiseOnPoll", Property::string("driver")}}),
                                   context_)
                .request_id;
  for (int i = 0; i < 5; ++i) EXPECT_THROW(poll(driver, id), sdk::ResourceDriverError);
  auto zero =
      driver
          .execute_lifecycle(make_request({{"noop.raiseOnPoll", Property::string("driver")},
                                           {"noop.raiseOnPollTimes", Property::integer(0)}}),
                             context_)
          .request_id;
  EXPECT_EQ(poll(driver, zero).status, ExecutionStatus::complete);
}

TEST_F(NoopDriverTest, UnknownAndDeliveredRequestsAreNotFound) {
  NoopDriver driver;
  try {
    poll(driver, "nope");
    FAIL() << "expected RequestNotFoundError";
  } catch (const sdk::RequestNotFoundError& error) {
    EXPECT_STREQ(error.what(), "noop driver: request \"nope\" not found");
  }
  auto id = driver.execute_lifecycle(make_request(), context_).request_id;
  EXPECT_EQ(driver.active_requests(), 1u);
  driver.on_execution_delivered(id, location_, context_);
  EXPECT_EQ(driver.active_requests(), 0u);
  EXPECT_THROW(poll(driver, id), sdk::RequestNotFoundError);
  driver.on_execution_delivered("unknown", location_, context_);  // ignored
}

TEST_F(NoopDriverTest, LatencyIsAddedToEveryCall) {
  using namespace std::chrono;
  NoopDriver driver;
  auto start = steady_clock::now();
  auto id =
      driver.execute_lifecycle(make_request({{"noop.latencyMs", Property::integer(30)}}), context_)
          .request_id;
  EXPECT_GE(steady_clock::now() - start, milliseconds(30));
  start = steady_clock::now();
  poll(driver, id);
  EXPECT_GE(steady_clock::now() - start, milliseconds(30));

  // A default long enough that a loaded machine cannot make the override
  // of it look slow.
  Options options;
  options.latency = milliseconds(400);
  NoopDriver slow(options);
  start = steady_clock::now();
  slow.find_reference(make_find({}), context_);
  EXPECT_GE(steady_clock::now() - start, milliseconds(400));
  start = steady_clock::now();
  slow.find_reference(make_find({{"noop.latencyMs", 0}}), context_);
  EXPECT_LT(steady_clock::now() - start, milliseconds(400));
}

TEST_F(NoopDriverTest, BadValuesNameTheProperty) {
  NoopDriver driver;
  auto execute = [&](sdk::PropertyMap request_properties, sdk::PropertyMap resource = {}) {
    return invalid_message([&] {
      driver.execute_lifecycle(make_request(std::move(request_properties), std::move(resource)),
                               context_);
    });
  };
  EXPECT_EQ(execute({{"noop.outcome", Property::string("DONE")}}),
            R"(requestProperties.noop.outcome: expected COMPLETE or FAILED, got "DONE")");
  EXPECT_EQ(execute({}, {{"noop.outcome", Property::integer(1)}}),
            "resourceProperties.noop.outcome: expected a string");
  EXPECT_EQ(execute({{"noop.outcome",
                      Property::key({"k", "-----BEGIN PRIVATE KEY-----", {}}, "SECRET")}}),
            "requestProperties.noop.outcome: expected a plain value, got a key (its value is not "
            "shown)");
  EXPECT_EQ(execute({{"noop.failureCode", Property::string("OOPS")}}),
            R"(requestProperties.noop.failureCode: unknown failure code "OOPS")");
  EXPECT_EQ(execute({{"noop.pollsInProgress", Property::string("many")}}),
            "requestProperties.noop.pollsInProgress: expected a non-negative integer");
  EXPECT_EQ(execute({{"noop.pollsInProgress", Property::integer(-1)}}),
            "requestProperties.noop.pollsInProgress: expected a non-negative integer");
  EXPECT_EQ(execute({{"noop.latencyMs", Property("float", 1.5)}}),
            "requestProperties.noop.latencyMs: expected a non-negative integer");
  EXPECT_EQ(execute({{"noop.raiseOnPollTimes", Property::string("x")}}),
            "requestProperties.noop.raiseOnPollTimes: expected a non-negative integer");
  EXPECT_EQ(execute({{"noop.raise", Property::string("boom")}}),
            R"(requestProperties.noop.raise: unknown error kind "boom" (expected invalid_request, )"
            R"(invalid_lifecycle_name, invalid_driver_files, request_not_found, )"
            R"(unreachable_location, temporary, driver, invalid_template, )"
            R"(infrastructure_not_found, not_found, already_exists, conflict, unauthorized or )"
            R"(not_implemented))");
  EXPECT_EQ(execute({{"noop.raiseOnPoll", Property::string("Temporary")}}).substr(0, 61),
            R"(requestProperties.noop.raiseOnPoll: unknown error kind "Tempo)");
  EXPECT_EQ(execute({{"noop.outputs", Property::string("x")}}),
            "requestProperties.noop.outputs: expected a map value (a JSON object)");
  EXPECT_EQ(execute({{"noop.topology", Property("map", bj::parse(R"({"vm":{"id":1}})"))}}),
            "requestProperties.noop.topology.vm.id: expected a string");
  EXPECT_EQ(execute({{"noop.acceptTopology", Property("map", bj::parse("[]"))}}),
            "requestProperties.noop.acceptTopology: expected an object");
  EXPECT_EQ(driver.active_requests(), 0u);
}

TEST(NoopDriverOptions, RejectsNegativeValues) {
  Options polls;
  polls.polls_in_progress = -1;
  EXPECT_THROW(NoopDriver{polls}, std::invalid_argument);
  Options latency;
  latency.latency = std::chrono::milliseconds(-5);
  EXPECT_THROW(NoopDriver{latency}, std::invalid_argument);
}

TEST_F(NoopDriverTest, FindDefaultsFromOptions) {
  NoopDriver driver;
  auto found = driver.find_reference(make_find({}), context_);
  ASSERT_TRUE(found.result);
  EXPECT_EQ(*found.result, (sdk::FoundReference{"noop-inst", {}, {}}));

  Options options;
  options.find_found = false;
  NoopDriver not_found(options);
  EXPECT_FALSE(not_found.find_reference(make_find({}), context_).result);
}

TEST_F(NoopDriverTest, FindScriptedByLocationProperties) {
  NoopDriver driver;
  auto found = driver.find_reference(
      make_find(bj::parse(R"({"noop.find": {"resourceId": "r-9", "outputs": {"a": 1},
                              "associatedTopology": {"vm": {"id": "1", "type": "t"}}}})")
                    .as_object()),
      context_);
  ASSERT_TRUE(found.result);
  EXPECT_EQ(found.result->resource_id, "r-9");
  EXPECT_EQ(found.result->outputs, bj::parse(R"({"a":1})").as_object());
  EXPECT_EQ(found.result->associated_topology.find("vm")->value(), (sdk::TopologyEntry{"1", "t"}));

  EXPECT_FALSE(driver.find_reference(make_find({{"noop.find", nullptr}}), context_).result);

  EXPECT_THROW(driver.find_reference(make_find({{"noop.raise", "unreachable_location"}}), context_),
               sdk::UnreachableDeploymentLocationError);
}

TEST_F(NoopDriverTest, FindBadValuesNameTheProperty) {
  NoopDriver driver;
  auto find = [&](std::string_view properties) {
    return invalid_message(
        [&] { driver.find_reference(make_find(bj::parse(properties).as_object()), context_); });
  };
  EXPECT_EQ(find(R"({"noop.find": 3})"),
            "deploymentLocation.properties.noop.find: expected an object or null");
  EXPECT_EQ(find(R"({"noop.find": {}})"),
            "deploymentLocation.properties.noop.find.resourceId: required");
  EXPECT_EQ(find(R"({"noop.find": {"resourceId": 1}})"),
            "deploymentLocation.properties.noop.find.resourceId: expected a string");
  EXPECT_EQ(find(R"({"noop.find": {"resourceId": "r", "outputs": []}})"),
            "deploymentLocation.properties.noop.find.outputs: expected an object");
  EXPECT_EQ(find(R"({"noop.find": {"resourceId": "r", "associatedTopology": {"x": 1}}})"),
            R"(deploymentLocation.properties.noop.find.associatedTopology.x: expected an object )"
            R"(with "id" and "type", or null)");
  EXPECT_EQ(find(R"({"noop.raise": "nope"})").substr(0, 67),
            R"(deploymentLocation.properties.noop.raise: unknown error kind "nope")");
  EXPECT_EQ(find(R"({"noop.raise": 1})"),
            "deploymentLocation.properties.noop.raise: expected a string");
  EXPECT_EQ(find(R"({"noop.latencyMs": "soon"})"),
            "deploymentLocation.properties.noop.latencyMs: expected a non-negative integer");
}

TEST_F(NoopDriverTest, RecordsCalls) {
  NoopDriver driver;
  auto id = driver.execute_lifecycle(make_request(), context_).request_id;
  poll(driver, id);
  driver.find_reference(make_find({}), context_);
  driver.on_execution_delivered(id, location_, context_);
  EXPECT_THROW(poll(driver, id), sdk::RequestNotFoundError);
  EXPECT_THROW(driver.execute_lifecycle(make_request({{"noop.raise", Property::string("driver")}}),
                                        context_),
               sdk::ResourceDriverError);
  EXPECT_EQ(driver.calls(), (std::vector<NoopCall>{{NoopCallKind::execute, id, "Install"},
                                                   {NoopCallKind::get, id, "Install"},
                                                   {NoopCallKind::find, "inst", ""},
                                                   {NoopCallKind::delivered, id, "Install"},
                                                   {NoopCallKind::get, id, ""},
                                                   {NoopCallKind::execute, "", "Install"}}));
  EXPECT_EQ(to_string(NoopCallKind::delivered), "delivered");
}

TEST_F(NoopDriverTest, CallLogIsABoundedRing) {
  Options options;
  options.call_log_size = 3;
  NoopDriver driver(options);
  for (int i = 0; i < 5; ++i) {
    auto request = make_request();
    request.lifecycle_name = "op" + std::to_string(i);
    driver.execute_lifecycle(request, context_);
  }
  auto calls = driver.calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].lifecycle_name, "op2");
  EXPECT_EQ(calls[1].lifecycle_name, "op3");
  EXPECT_EQ(calls[2].lifecycle_name, "op4");

  options.call_log_size = 0;
  NoopDriver silent(options);
  silent.execute_lifecycle(make_request(), context_);
  EXPECT_TRUE(silent.calls().empty());
}

TEST_F(NoopDriverTest, ConcurrentCallsAreSafe) {
  Options options;
  options.polls_in_progress = 2;
  options.call_log_size = 64;
  NoopDriver driver(options);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  std::atomic<int> completed{0};
  std::mutex ids_mutex;
  std::set<std::string> ids;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      FakeContext context;
      sdk::DeploymentLocation location{"dl", "", {}};
      for (int i = 0; i < kPerThread; ++i) {
        auto id = driver.execute_lifecycle(make_request(), context).request_id;
        while (driver.get_lifecycle_execution(id, location, context).status !=
               ExecutionStatus::complete) {
        }
        driver.on_execution_delivered(id, location, context);
        ++completed;
        std::lock_guard lock(ids_mutex);
        ids.insert(id);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(completed.load(), kThreads * kPerThread);
  EXPECT_EQ(ids.size(), std::size_t(kThreads * kPerThread));  // ids are unique
  EXPECT_EQ(driver.active_requests(), 0u);
  EXPECT_EQ(driver.calls().size(), 64u);
}

// A fresh state directory per test, removed afterwards.
class NoopStateDirTest : public NoopDriverTest {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("flint-noop-" + std::string(test->name()) + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Options shared() const {
    Options options;
    options.state_dir = dir_;
    return options;
  }
  // Names of the files in the state directory, sorted.
  std::set<std::string> files() const {
    std::set<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      names.insert(entry.path().filename().string());
    }
    return names;
  }

  std::filesystem::path dir_;
};

TEST_F(NoopStateDirTest, InstancesShareRequests) {
  NoopDriver accepting(shared());
  NoopDriver polling(shared());
  auto request = make_request(
      {{"noop.pollsInProgress", Property::integer(2)},
       {"noop.outputs", Property("map", bj::parse(R"({"ip":"10.0.0.1","port":22})"))},
       {"noop.topology", Property("map", bj::parse(R"({"vm":{"id":"i-1","type":"Openstack"},
                                                        "old":null})"))}});
  auto id = accepting.execute_lifecycle(request, context_).request_id;
  EXPECT_EQ(files(), (std::set<std::string>{id + ".json", id + ".lock"}));
  EXPECT_EQ(polling.active_requests(), 1u);

  EXPECT_EQ(poll(polling, id), sdk::LifecycleExecution::in_progress(id));
  EXPECT_EQ(poll(polling, id), sdk::LifecycleExecution::in_progress(id));
  auto execution = poll(polling, id);
  expect_scripted_completion(execution);
  EXPECT_EQ(poll(accepting, id), execution);  // the terminal status, seen by both

  polling.on_execution_delivered(id, location_, context_);
  EXPECT_TRUE(files().empty());
  EXPECT_THROW(poll(accepting, id), sdk::RequestNotFoundError);
  EXPECT_THROW(poll(polling, id), sdk::RequestNotFoundError);
  EXPECT_EQ(accepting.active_requests(), 0u);

  EXPECT_EQ(accepting.calls(), (std::vector<NoopCall>{{NoopCallKind::execute, id, "Install"},
                                                      {NoopCallKind::get, id, "Install"},
                                                      {NoopCallKind::get, id, ""}}));
  EXPECT_EQ(polling.calls().size(), 5u);
  EXPECT_EQ(polling.calls()[3], (NoopCall{NoopCallKind::delivered, id, "Install"}));
}

TEST_F(NoopStateDirTest, KeepsFailureAndRaiseCounters) {
  NoopDriver accepting(shared());
  NoopDriver polling(shared());
  auto id = accepting
                .execute_lifecycle(
                    make_request({{"noop.outcome", Property::string("FAILED")},
                                  {"noop.failureCode", Property::string("INSUFFICIENT_CAPACITY")},
                                  {"noop.failureDescription", Property::string("full")},
                                  {"noop.raiseOnPoll", Property::string("temporary")},
                                  {"noop.raiseOnPollTimes", Property::integer(2)}}),
                    context_)
                .request_id;
  EXPECT_THROW(poll(polling, id), sdk::TemporaryDriverError);
  EXPECT_THROW(poll(accepting, id), sdk::TemporaryDriverError);
  EXPECT_EQ(poll(polling, id),
            sdk::LifecycleExecution::failed(id, sdk::FailureCode::insufficient_capacity, "full"));

  auto always = accepting
                    .execute_lifecycle(
                        make_request({{"noop.raiseOnPoll", Property::string("driver")}}), context_)
                    .request_id;
  for (int i = 0; i < 3; ++i) EXPECT_THROW(poll(polling, always), sdk::ResourceDriverError);
}

TEST_F(NoopStateDirTest, UnknownIdsAreNotFound) {
  NoopDriver driver(shared());
  try {
    poll(driver, "nope");
    FAIL() << "expected RequestNotFoundError";
  } catch (const sdk::RequestNotFoundError& error) {
    EXPECT_STREQ(error.what(), "noop driver: request \"nope\" not found");
  }
  // Ids that are no file name are unknown too, never a path.
  EXPECT_THROW(poll(driver, "../nope"), sdk::RequestNotFoundError);
  EXPECT_THROW(poll(driver, ""), sdk::RequestNotFoundError);
  driver.on_execution_delivered("nope", location_, context_);  // ignored
  driver.on_execution_delivered("..", location_, context_);    // ignored
  EXPECT_TRUE(files().empty());
  EXPECT_EQ(driver.active_requests(), 0u);
}

TEST_F(NoopStateDirTest, CorruptStateFileNamesIt) {
  NoopDriver driver(shared());
  auto id = driver.execute_lifecycle(make_request(), context_).request_id;
  const auto path = dir_ / (id + ".json");
  std::ofstream(path) << "{\"lifecycleName\":";
  try {
    poll(driver, id);
    FAIL() << "expected ResourceDriverError";
  } catch (const sdk::ResourceDriverError& error) {
    EXPECT_EQ(std::string(error.what())
                  .rfind("noop driver: corrupt state file " + path.string() + ": ", 0),
              0u)
        << error.what();
  }
  driver.on_execution_delivered(id, location_, context_);  // removed all the same
  EXPECT_TRUE(files().empty());
}

TEST_F(NoopStateDirTest, CreatesTheDirectoryOrNamesIt) {
  Options nested;
  nested.state_dir = dir_ / "a" / "b";
  NoopDriver driver(nested);
  EXPECT_TRUE(std::filesystem::is_directory(nested.state_dir));

  Options blocked;
  blocked.state_dir = dir_ / "file";
  std::ofstream(blocked.state_dir) << "x";
  try {
    NoopDriver{blocked};
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find(blocked.state_dir.string()), std::string::npos)
        << error.what();
  }
}

TEST_F(NoopStateDirTest, ConcurrentPollsAcrossInstancesCountEachPollOnce) {
  NoopDriver first(shared());
  NoopDriver second(shared());
  constexpr int kPollsInProgress = 40;
  constexpr int kThreads = 6;
  constexpr int kRounds = 3;
  const auto outputs = bj::parse(R"({"ip":"10.0.0.1"})").as_object();
  for (int round = 0; round < kRounds; ++round) {
    auto id = first
                  .execute_lifecycle(
                      make_request({{"noop.pollsInProgress", Property::integer(kPollsInProgress)},
                                    {"noop.outputs", Property("map", outputs)}}),
                      context_)
                  .request_id;
    std::atomic<int> in_progress{0};
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        NoopDriver& driver = t % 2 == 0 ? first : second;
        FakeContext context;
        for (;;) {
          try {
            auto execution = driver.get_lifecycle_execution(id, location_, context);
            if (execution.status == ExecutionStatus::in_progress) {
              ++in_progress;
              continue;
            }
            if (execution != sdk::LifecycleExecution::complete(id, outputs)) ++wrong;
          } catch (...) {
            ++wrong;  // a corrupt or missing file
          }
          return;
        }
      });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(in_progress.load(), kPollsInProgress);
    EXPECT_EQ(files(), (std::set<std::string>{id + ".json", id + ".lock"}));  // no temporaries
    second.on_execution_delivered(id, location_, context_);
  }
  EXPECT_TRUE(files().empty());
}

}  // namespace
}  // namespace flint::drivers::noop
