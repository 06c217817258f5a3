#include "drivers/driver_manager.hpp"

#include <atomic>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <flint/sdk/errors.hpp>

namespace flint::drivers {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

std::atomic<int> alive{0};

// Counts its instances; fails as its location's `fail` property says, and
// says it cannot serve as its `unavailable` property says.
class CountingDriver final : public sdk::ResourceDriver {
 public:
  explicit CountingDriver(std::string target, std::string why_unavailable = {})
      : made_for(std::move(target)), unavailable(std::move(why_unavailable)) {
    ++alive;
  }
  std::string unavailable_reason() const override { return unavailable; }
  ~CountingDriver() override { --alive; }
  sdk::LifecycleExecuteResponse execute_lifecycle(const sdk::ExecuteLifecycleRequest& request,
                                                  sdk::CallContext&) override {
    const auto* fail = request.deployment_location.properties.if_contains("fail");
    if (fail && *fail == "unreachable") throw sdk::UnreachableDeploymentLocationError("down");
    if (fail && *fail == "invalid") throw sdk::InvalidRequestError("bad input");
    if (fail && *fail == "template") throw sdk::InvalidTemplateError("bad template");
    if (fail && *fail == "gone") throw sdk::InfrastructureNotFoundError("no such infrastructure");
    if (fail && *fail == "int") throw 42;
    if (fail && *fail == "kind") {  // any kind, by name: `fail_kind`
      sdk::raise_error(*sdk::parse_error_kind(
                           request.deployment_location.properties.at("fail_kind").as_string()),
                       "failed on purpose");
    }
    if (fail && *fail == "busy") throw sdk::TemporaryDriverError("too many requests");
    if (fail && *fail == "host") {
      throw sdk::TemporaryHostError("cannot write /data/x: No space left on device");
    }
    sdk::LifecycleExecuteResponse response;
    response.request_id = "r-" + made_for;
    return response;
  }
  sdk::LifecycleExecution get_lifecycle_execution(std::string_view id,
                                                  const sdk::DeploymentLocation&,
                                                  sdk::CallContext&) override {
    return sdk::LifecycleExecution::complete(std::string(id));
  }
  sdk::FindReferenceResponse find_reference(const sdk::FindReferenceRequest&,
                                            sdk::CallContext&) override {
    return {};
  }
  const std::string made_for;
  const std::string unavailable;
};

DriverCatalog make_catalog() {
  DriverCatalog catalog;
  catalog.add("built-in", [](sdk::DriverRegistrar& registrar) {
    auto factory = [](const sdk::DriverInstanceContext& context) {
      if (context.target && context.target->properties.contains("fail_factory")) {
        throw sdk::UnreachableDeploymentLocationError("cannot connect");
      }
      std::string made_for = "shared";
      if (context.target) {
        made_for = context.target->name + ":" +
                   std::string(context.target->properties.at("password").as_string());
      }
      const auto* unavailable =
          context.target ? context.target->properties.if_contains("unavailable") : nullptr;
      return std::make_unique<CountingDriver>(
          std::move(made_for), unavailable ? std::string(unavailable->as_string()) : "");
    };
    registrar.add_resource_driver({.name = "per-target"}, factory);
    registrar.add_resource_driver({.name = "shared", .scope = sdk::InstanceScope::shared}, factory);
  });
  catalog.configure({});
  return catalog;
}

sdk::DeploymentLocation location(std::string name, std::string password,
                                 boost::json::object extra = {}) {
  extra["password"] = password;
  return {.name = std::move(name), .type = "Test", .properties = std::move(extra)};
}

class DriverManagerTest : public ::testing::Test {
 protected:
  ~DriverManagerTest() override { manager.reset(); }

  std::string execute(const sdk::DeploymentLocation& at, std::string_view driver = "per-target",
                      bool from_request = true) {
    const auto target = manager->target(*catalog.find(driver), at);
    manager->admit(*target);
    sdk::ExecuteLifecycleRequest request;
    request.deployment_location = at;
    return manager->call<sdk::ResourceDriver>(
        *target, at, from_request, std::chrono::steady_clock::now() + 10s,
        [&](sdk::ResourceDriver& instance) {
          auto& counting = dynamic_cast<CountingDriver&>(instance);
          (void)instance.execute_lifecycle(request, context());
          return counting.made_for;
        });
  }

  static sdk::CallContext& context() {
    struct NullContext final : sdk::CallContext {
      std::string_view tenant_id() const noexcept override { return {}; }
      const TraceFields& trace_context() const noexcept override { return fields; }
      std::chrono::steady_clock::time_point deadline() const noexcept override {
        return std::chrono::steady_clock::time_point::max();
      }
      void write_log(sdk::LogLevel, std::string_view, std::span<const sdk::LogField>) override {}
      TraceFields fields;
    };
    static NullContext context;
    return context;
  }

  prometheus::Registry registry;
  DriverCatalog catalog = make_catalog();
  std::unique_ptr<DriverManager> manager = std::make_unique<DriverManager>(
      catalog,
      DriverManager::Options{.expire_after_access = 200ms,
                             .max_instances = 16,
                             .breaker = {.failure_threshold = 2, .open_duration = 100ms}},
      registry);
};

TEST_F(DriverManagerTest, OneInstancePerTargetAndOneForASharedDriver) {
  EXPECT_EQ(execute(location("a", "p1")), "a:p1");
  EXPECT_EQ(execute(location("a", "p1")), "a:p1");
  EXPECT_EQ(execute(location("b", "p1")), "b:p1");
  EXPECT_EQ(alive, 2);
  EXPECT_EQ(execute(location("a", "p1"), "shared"), "shared");
  EXPECT_EQ(execute(location("b", "p2"), "shared"), "shared");
  EXPECT_EQ(alive, 3);
  manager->close_all();
  EXPECT_EQ(alive, 0) << "every instance is finalized at shutdown";
}

TEST_F(DriverManagerTest, NewCredentialsFromARequestReplaceTheInstance) {
  EXPECT_EQ(execute(location("a", "old")), "a:old");
  EXPECT_EQ(execute(location("a", "new")), "a:new");
  EXPECT_EQ(alive, 1) << "the instance with the old credentials was closed";
  // A poll of an execution started with the old credentials uses the current instance.
  EXPECT_EQ(execute(location("a", "old"), "per-target", /*from_request=*/false), "a:new");
  EXPECT_EQ(alive, 1);
}

TEST_F(DriverManagerTest, ARefusedRequestLeavesTheCurrentPropertiesAlone) {
  EXPECT_EQ(execute(location("a", "good")), "a:good");
  // A mistyped credential the factory refuses, then one the driver refuses.
  EXPECT_THROW(execute(location("a", "typo", {{"fail_factory", true}})),
               sdk::UnreachableDeploymentLocationError);
  EXPECT_THROW(execute(location("a", "typo", {{"fail", "invalid"}})), sdk::InvalidRequestError);
  EXPECT_EQ(alive, 1) << "the refused request's instance closed; the good one stays";
  EXPECT_EQ(execute(location("a", "good"), "per-target", /*from_request=*/false), "a:good")
      << "polls still use the properties the driver last answered with";
}

TEST_F(DriverManagerTest, TheLaterRequestsPropertiesWinWhicheverCallEndsFirst) {
  const auto old_location = location("a", "old");
  const auto new_location = location("a", "new");
  const auto& driver = *catalog.find("per-target");
  const auto older = manager->target(driver, old_location);  // arrived first
  const auto newer = manager->target(driver, new_location);
  const auto run = [&](const DriverManager::Target& target, const sdk::DeploymentLocation& at) {
    return manager->call<sdk::ResourceDriver>(
        target, at, /*from_request=*/true, std::chrono::steady_clock::now() + 10s,
        [](sdk::ResourceDriver& instance) {
          return dynamic_cast<CountingDriver&>(instance).made_for;
        });
  };
  EXPECT_EQ(run(*newer, new_location), "a:new");
  EXPECT_EQ(run(*older, old_location), "a:old");  // ends last, but was overtaken
  EXPECT_EQ(alive, 1) << "the overtaken instance closed";
  EXPECT_EQ(execute(old_location, "per-target", /*from_request=*/false), "a:new");
}

TEST_F(DriverManagerTest, ARequestThatFailsLeavesItsInstanceToOneStillRunning) {
  EXPECT_EQ(execute(location("a", "old")), "a:old");
  const auto at = location("a", "new");
  const auto& driver = *catalog.find("per-target");
  const auto running = manager->target(driver, at);
  const auto failing = manager->target(driver, at);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  manager->call<sdk::ResourceDriver>(
      *running, at, /*from_request=*/true, deadline, [&](sdk::ResourceDriver&) {
        // Meanwhile a request with the same properties fails
        // for a reason of its own.
        EXPECT_THROW(manager->call<sdk::ResourceDriver>(
                         *failing, at, /*from_request=*/true, deadline,
                         [](sdk::ResourceDriver&) {
                           throw sdk::InvalidLifecycleNameError("no such lifecycle");
                         }),
                     sdk::InvalidLifecycleNameError);
      });
  EXPECT_EQ(alive, 1) << "the new instance stays cached (the old one closed)";
  EXPECT_EQ(execute(at, "per-target", /*from_request=*/false), "a:new");
  EXPECT_EQ(alive, 1) << "polls use the instance that answered, not a new one";
}

TEST_F(DriverManagerTest, PropertiesInAnotherKeyOrderAreTheSameTarget) {
  const auto& driver = *catalog.find("per-target");
  const sdk::DeploymentLocation one{
      .name = "a",
      .type = "Test",
      .properties = {{"password", "p"}, {"user", "u"}, {"n", {{"x", 1}, {"y", 2}}}}};
  const sdk::DeploymentLocation other{
      .name = "a",
      .type = "Test",
      .properties = {{"n", {{"y", 2}, {"x", 1}}}, {"user", "u"}, {"password", "p"}}};
  EXPECT_EQ(manager->target(driver, one)->instance_key,
            manager->target(driver, other)->instance_key);
  const sdk::DeploymentLocation changed{
      .name = "a",
      .type = "Test",
      .properties = {{"password", "p"}, {"user", "v"}, {"n", {{"x", 1}, {"y", 2}}}}};
  EXPECT_NE(manager->target(driver, one)->instance_key,
            manager->target(driver, changed)->instance_key);
  execute(one);
  execute(other);
  EXPECT_EQ(alive, 1);
}

TEST_F(DriverManagerTest, AfterARestartPollsUseTheNewestRecordedPropertiesUntilARequest) {
  const auto& driver = *catalog.find("per-target");
  // Resumed executions, oldest first: the newest one's properties are current.
  manager->remember(*manager->target(driver, location("a", "old")), location("a", "old"));
  manager->remember(*manager->target(driver, location("a", "new")), location("a", "new"));
  EXPECT_EQ(execute(location("a", "old"), "per-target", /*from_request=*/false), "a:new");
  // A request brings newer ones; what is remembered later does not override it.
  EXPECT_EQ(execute(location("a", "newest")), "a:newest");
  manager->remember(*manager->target(driver, location("a", "new")), location("a", "new"));
  EXPECT_EQ(execute(location("a", "old"), "per-target", /*from_request=*/false), "a:newest");
  EXPECT_EQ(alive, 1);
}

TEST_F(DriverManagerTest, IdleInstancesAreClosed) {
  // Margins a loaded machine's late wake-ups cannot eat: b is idle 0.6 s of 1 s.
  manager.reset();
  manager = std::make_unique<DriverManager>(
      catalog,
      DriverManager::Options{.expire_after_access = 1s, .max_instances = 16, .breaker = {}},
      registry);
  execute(location("a", "p"));
  execute(location("b", "p"));
  std::this_thread::sleep_for(600ms);
  execute(location("b", "p"));  // b stays in use
  std::this_thread::sleep_for(600ms);
  EXPECT_EQ(manager->evict_idle(), 1u);
  EXPECT_EQ(alive, 1);
  EXPECT_EQ(execute(location("a", "p")), "a:p") << "made again on next use";
}

TEST_F(DriverManagerTest, BreakersOfLocationsLeftQuietAreForgotten) {
  // Opened, then nobody calls again (a retired location), and one failure elsewhere.
  const auto down = location("a", "p", {{"fail", "unreachable"}});
  EXPECT_THROW(execute(down), sdk::UnreachableDeploymentLocationError);
  EXPECT_THROW(execute(down), sdk::UnreachableDeploymentLocationError);
  EXPECT_THROW(execute(location("b", "p", {{"fail", "unreachable"}})),
               sdk::UnreachableDeploymentLocationError);
  const auto held = manager->target(*catalog.find("per-target"), location("c", "p"));
  held->breaker->record_failure("down");  // an execution in flight holds this one
  const auto open_gauge = [&] {
    for (const auto& family : registry.Collect()) {
      if (family.name != "flint_driver_breakers_open") continue;
      for (const auto& metric : family.metric) {
        if (metric.label.at(0).value == "per-target") return metric.gauge.value;
      }
    }
    return -1.0;
  };
  EXPECT_EQ(manager->open_breakers(), 1u);
  EXPECT_EQ(open_gauge(), 1.0);
  manager->evict_idle();
  EXPECT_EQ(manager->describe().at(0).at("breakers").as_array().size(), 3u) << "not quiet yet";
  std::this_thread::sleep_for(250ms);  // past expire_after_access (and the open period)
  manager->evict_idle();
  EXPECT_EQ(manager->open_breakers(), 0u) << "an alert on open breakers clears";
  EXPECT_EQ(open_gauge(), 0.0);
  const auto listing = manager->describe();
  const auto& left = listing.at(0).at("breakers").as_array();
  ASSERT_EQ(left.size(), 1u) << "only the held breaker is kept";
  EXPECT_EQ(left.at(0).at("location"), "c");
  EXPECT_EQ(execute(location("a", "p")), "a:p") << "the location starts afresh";
}

TEST_F(DriverManagerTest, MadeUpLocationsThatEachFailOnceDoNotGrowTheBreakersForEver) {
  // Each fails once, and none goes quiet within the test: only crowding forgets them.
  manager = std::make_unique<DriverManager>(
      catalog,
      DriverManager::Options{.expire_after_access = 1h,
                             .max_instances = 16,
                             .breaker = {.failure_threshold = 2, .open_duration = 1h}},
      registry);
  const auto open = location("open", "p", {{"fail", "unreachable"}});
  EXPECT_THROW(execute(open), sdk::UnreachableDeploymentLocationError);
  EXPECT_THROW(execute(open), sdk::UnreachableDeploymentLocationError);
  for (int i = 0; i < 20'000; ++i) {
    manager->target(*catalog.find("per-target"), location("x" + std::to_string(i), "p"))
        ->breaker->record_failure("down");
  }
  const auto listing = manager->describe();
  const auto& kept = listing.at(0).at("breakers").as_array();
  EXPECT_LT(kept.size(), 2 * 4096u + 2);
  EXPECT_EQ(manager->open_breakers(), 1u) << "an open breaker is not forgotten for crowding";
  EXPECT_THROW(execute(open), sdk::TemporaryDriverError);
}

TEST_F(DriverManagerTest, BreakerOpensOnTargetFailuresFailsFastAndClosesAfterAProbe) {
  const auto down = location("a", "p", {{"fail", "unreachable"}});
  EXPECT_THROW(execute(down), sdk::UnreachableDeploymentLocationError);
  // The caller's own errors are answers, not failures of the target.
  EXPECT_THROW(execute(location("a", "p", {{"fail", "invalid"}})), sdk::InvalidRequestError);
  EXPECT_THROW(execute(down), sdk::UnreachableDeploymentLocationError);
  EXPECT_THROW(execute(down), sdk::UnreachableDeploymentLocationError);
  try {
    execute(location("a", "p"));
    FAIL() << "expected the breaker to refuse";
  } catch (const sdk::TemporaryDriverError& e) {
    EXPECT_THAT(e.what(), HasSubstr("deployment location 'a' (driver 'per-target'): circuit "
                                    "breaker open after 2 consecutive failures (last: down)"));
  }
  EXPECT_EQ(execute(location("b", "p")), "b:p") << "other targets are not affected";
  EXPECT_EQ(manager->open_breakers(), 1u);
  const auto listing = manager->describe();
  const auto& breakers = listing.at(0).at("breakers").as_array();
  ASSERT_EQ(breakers.size(), 1u);
  EXPECT_EQ(breakers.at(0).at("location"), "a");
  EXPECT_EQ(breakers.at(0).at("state"), "open");
  std::this_thread::sleep_for(120ms);
  EXPECT_EQ(execute(location("a", "p")), "a:p") << "the probe succeeds";
  EXPECT_EQ(manager->open_breakers(), 0u);
}

TEST_F(DriverManagerTest, EveryKindOfCallerMistakeLeavesTheBreakerClosed) {
  for (const char* mistake : {"invalid", "template", "gone"}) {
    for (int i = 0; i < 3; ++i) {
      EXPECT_THROW(execute(location("a", "p", {{"fail", mistake}})), sdk::DriverError) << mistake;
    }
  }
  EXPECT_EQ(manager->open_breakers(), 0u);
  EXPECT_EQ(execute(location("a", "p")), "a:p");
}

// Octavia's NotFound, Unauthorized and NotImplemented are answers, not outages.
TEST_F(DriverManagerTest, TheGenericKindsLeaveTheBreakerClosed) {
  for (const char* kind :
       {"not_found", "already_exists", "conflict", "unauthorized", "not_implemented"}) {
    for (int i = 0; i < 3; ++i) {
      EXPECT_THROW(execute(location("a", "p", {{"fail", "kind"}, {"fail_kind", kind}})),
                   sdk::DriverError)
          << kind;
    }
  }
  EXPECT_EQ(manager->open_breakers(), 0u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_THROW(execute(location("b", "p", {{"fail", "kind"}, {"fail_kind", "driver"}})),
                 sdk::ResourceDriverError);
  }
  EXPECT_EQ(manager->open_breakers(), 1u) << "a driver error still counts";
}

TEST_F(DriverManagerTest, SomethingThrownThatIsNotAnExceptionIsTheDriversFailure) {
  const auto odd = location("a", "p", {{"fail", "int"}});
  try {
    execute(odd);
    FAIL() << "expected a DriverError";
  } catch (const sdk::DriverError& e) {
    EXPECT_EQ(e.kind(), sdk::ErrorKind::driver);
    EXPECT_THAT(e.what(), HasSubstr("driver 'per-target' threw an exception that is not a "
                                    "std::exception"));
  }
  EXPECT_THROW(execute(odd), sdk::DriverError);
  EXPECT_EQ(manager->open_breakers(), 1u) << "it counts against the target";
}

TEST_F(DriverManagerTest, UnrecordedCallsLeaveTheBreakerAlone) {
  // An after-delivery hook that fails tells nothing of the target's health.
  const auto down = location("a", "p", {{"fail", "unreachable"}});
  const auto target = manager->target(*catalog.find("per-target"), down);
  for (int i = 0; i < 3; ++i) {
    EXPECT_THROW(manager->call_unrecorded<sdk::ResourceDriver>(
                     *target, down,
                     [&](sdk::ResourceDriver& instance) {
                       sdk::ExecuteLifecycleRequest request;
                       request.deployment_location = down;
                       (void)instance.execute_lifecycle(request, context());
                     }),
                 sdk::UnreachableDeploymentLocationError);
  }
  EXPECT_EQ(manager->open_breakers(), 0u);
  EXPECT_NO_THROW(manager->admit(*target));
  EXPECT_EQ(execute(location("a", "p")), "a:p");
}

TEST_F(DriverManagerTest, TheHostsOwnTroubleCountsNeitherWay) {
  // The host's disk is full: that tells nothing of the target, and the
  // location must not keep refusing work once space is back.
  const auto full = location("a", "p", {{"fail", "host"}});
  for (int i = 0; i < 3; ++i) EXPECT_THROW(execute(full), sdk::TemporaryHostError);
  EXPECT_EQ(manager->open_breakers(), 0u);
  // Nor is it an answer of the target that resets the count of its failures.
  const auto down = location("a", "p", {{"fail", "unreachable"}});
  EXPECT_THROW(execute(down), sdk::UnreachableDeploymentLocationError);
  EXPECT_THROW(execute(full), sdk::TemporaryHostError);
  EXPECT_THROW(execute(down), sdk::UnreachableDeploymentLocationError);
  EXPECT_EQ(manager->open_breakers(), 1u);
  // A temporary error of the target itself counts against it.
  const auto busy = location("b", "p", {{"fail", "busy"}});
  EXPECT_THROW(execute(busy), sdk::TemporaryDriverError);
  EXPECT_THROW(execute(busy), sdk::TemporaryDriverError);
  EXPECT_EQ(manager->open_breakers(), 2u);
}

TEST_F(DriverManagerTest, AFailingFactoryCountsAgainstTheTarget) {
  const auto down = location("a", "p", {{"fail_factory", true}});
  EXPECT_THROW(execute(down), sdk::UnreachableDeploymentLocationError);
  EXPECT_THROW(execute(down), sdk::UnreachableDeploymentLocationError);
  EXPECT_THROW(execute(down), sdk::TemporaryDriverError);
  EXPECT_EQ(alive, 0);
}

TEST_F(DriverManagerTest, ACallThroughAnotherKindsContractIsRefusedByName) {
  // A stored task naming a driver that is now of another kind (a library swapped between
  // restarts) must fail with the reason, never reach the instance through the wrong contract.
  const auto at = location("a", "p1");
  const auto target = manager->target(*catalog.find("per-target"), at);
  try {
    manager->call<sdk::InfrastructureDriver>(*target, at, false,
                                             std::chrono::steady_clock::now() + 10s,
                                             [](sdk::InfrastructureDriver&) { return 0; });
    FAIL() << "called through the wrong contract";
  } catch (const sdk::DriverError& e) {
    EXPECT_STREQ(e.what(), "driver 'per-target' is of kind resource, not infrastructure");
  }
  EXPECT_EQ(alive, 0) << "no instance was made for it";
}

TEST_F(DriverManagerTest, AnInstanceThatCannotServeIsShownUntilOneCan) {
  EXPECT_TRUE(manager->unavailable().empty());
  execute(location("a", "p1", {{"unavailable", "lacks CAP_NET_ADMIN"}}));
  EXPECT_EQ(manager->unavailable(),
            (std::map<std::string, std::string>{{"per-target", "lacks CAP_NET_ADMIN"}}));
  execute(location("a", "p2"));  // new credentials: a new instance, which can
  EXPECT_TRUE(manager->unavailable().empty());
}

TEST_F(DriverManagerTest, DescribesDriversForListings) {
  execute(location("a", "p"));
  const auto listing = manager->describe();
  ASSERT_EQ(listing.size(), 2u);
  const auto& first = listing.at(0).as_object();
  EXPECT_EQ(first.at("name"), "per-target");
  EXPECT_EQ(first.at("kind"), "resource");
  EXPECT_EQ(first.at("origin"), "built-in");
  EXPECT_EQ(first.at("instanceScope"), "per_target");
  EXPECT_EQ(first.at("instances"), 1);
}

}  // namespace
}  // namespace flint::drivers
