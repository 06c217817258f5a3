#include "drivers/guarded_call.hpp"

#include <atomic>
#include <functional>
#include <future>
#include <map>
#include <string>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <flint/sdk/errors.hpp>

namespace flint::drivers {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Answers every call, or fails as its location's `fail` property says.
class PlainDriver final : public sdk::ResourceDriver {
 public:
  sdk::LifecycleExecuteResponse execute_lifecycle(const sdk::ExecuteLifecycleRequest& request,
                                                  sdk::CallContext&) override {
    if (request.deployment_location.properties.contains("fail")) {
      throw sdk::UnreachableDeploymentLocationError("down");
    }
    sdk::LifecycleExecuteResponse response;
    response.request_id = "r";
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
};

DriverCatalog make_catalog() {
  DriverCatalog catalog;
  catalog.add("built-in", [](sdk::DriverRegistrar& registrar) {
    registrar.add_resource_driver({.name = "plain"}, [](const sdk::DriverInstanceContext&) {
      return std::make_unique<PlainDriver>();
    });
  });
  catalog.configure({});
  return catalog;
}

struct NullContext final : sdk::CallContext {
  std::string_view tenant_id() const noexcept override { return {}; }
  const TraceFields& trace_context() const noexcept override { return fields; }
  Clock::time_point deadline() const noexcept override { return Clock::time_point::max(); }
  void write_log(sdk::LogLevel, std::string_view, std::span<const sdk::LogField>) override {}
  TraceFields fields;
};

class GuardedCallTest : public ::testing::Test {
 protected:
  ~GuardedCallTest() override {
    release_ = true;
    executor_.shutdown();
  }

  std::shared_ptr<const DriverManager::Target> target(const std::string& name,
                                                      boost::json::object properties = {}) {
    locations_[name] = {.name = name, .type = "Test", .properties = std::move(properties)};
    return manager_.target(*catalog_.find("plain"), locations_[name]);
  }

  // A call of `target` through guarded_call: its work runs `before` (on
  // the driver thread) and then the driver.
  std::future<int> start(const std::shared_ptr<const DriverManager::Target>& target,
                         std::chrono::milliseconds timeout, std::function<void()> before = {},
                         std::chrono::milliseconds driver_delay = 0ms) {
    const DriverExecutor::Call call{"plain", "execute_lifecycle", Clock::now() + timeout};
    std::function<int()> work = [this, target, before, driver_delay, deadline = call.deadline] {
      if (before) before();
      const auto& location = locations_.at(target->location_name);
      return manager_.call<sdk::ResourceDriver>(*target, location, /*from_request=*/true, deadline,
                                                [&](sdk::ResourceDriver& driver) {
                                                  std::this_thread::sleep_for(driver_delay);
                                                  sdk::ExecuteLifecycleRequest request;
                                                  request.deployment_location = location;
                                                  (void)driver.execute_lifecycle(request, context_);
                                                  return 1;
                                                });
    };
    return boost::asio::co_spawn(
        io_, guarded_call<int>(manager_, executor_, *target, call, std::move(work)),
        boost::asio::use_future);
  }

  template <class T>
  T wait(std::future<T>& future) {
    while (future.wait_for(0s) != std::future_status::ready) {
      io_.restart();
      io_.poll();
      std::this_thread::sleep_for(1ms);
    }
    return future.get();
  }

  // Holds the only driver thread until the test ends.
  void block_the_pool() {
    blocker_ = boost::asio::co_spawn(io_,
                                     executor_.run<int>({"other", "op", Clock::now() + 60s},
                                                        [this] {
                                                          while (!release_)
                                                            std::this_thread::sleep_for(1ms);
                                                          return 0;
                                                        }),
                                     boost::asio::use_future);
    while (executor_.running() == 0) io_.restart(), io_.poll(), std::this_thread::sleep_for(1ms);
  }

  // Opens `target`'s breaker (threshold 1) and lets open_duration pass.
  void open_then_half_open(const std::string& name) {
    auto failing = target(name, {{"fail", true}});
    auto first = start(failing, 5s);
    EXPECT_THROW(wait(first), sdk::UnreachableDeploymentLocationError);
    ASSERT_EQ(failing->breaker->snapshot().state, BreakerState::open);
    now_ += 10s;
  }

  Clock::time_point now_ = Clock::now();
  prometheus::Registry registry_;
  DriverCatalog catalog_ = make_catalog();
  DriverManager manager_{
      catalog_,
      {.expire_after_access = 0ms,
       .max_instances = 16,
       .breaker = {.failure_threshold = 1, .open_duration = 10s, .now = [this] { return now_; }}},
      registry_};
  DriverCallProbe probe_{registry_};
  boost::asio::io_context io_;
  DriverExecutor executor_{{.threads = 1, .queue_size = 1}, probe_};
  std::map<std::string, sdk::DeploymentLocation> locations_;
  NullContext context_;
  std::atomic<bool> release_{false};
  std::future<int> blocker_;
};

TEST_F(GuardedCallTest, ACallThatWaitedInTheQueuePastItsDeadlineIsNoFailureOfItsTarget) {
  auto healthy = target("dc-ok");
  block_the_pool();  // another target's slow call
  auto queued = start(healthy, 50ms);
  try {
    wait(queued);
    FAIL() << "expected a timeout";
  } catch (const CallExpiredInQueue& e) {
    EXPECT_NE(std::string(e.what()).find("waited for a driver thread past its deadline"),
              std::string::npos)
        << e.what();
  }
  const auto snapshot = healthy->breaker->snapshot();
  EXPECT_EQ(snapshot.state, BreakerState::closed);
  EXPECT_EQ(snapshot.consecutive_failures, 0u);
  EXPECT_NO_THROW(manager_.admit(*healthy));
}

TEST_F(GuardedCallTest, ACallThatStartedAndOverranCountsAgainstItsTarget) {
  auto slow = target("dc-slow");
  auto overrun = start(slow, 1s, {}, 2s);  // a driver thread takes it within 1 s, loaded or not
  try {
    wait(overrun);
    FAIL() << "expected a timeout";
  } catch (const CallExpiredInQueue& e) {
    FAIL() << "it started: " << e.what();
  } catch (const CallTimedOut& e) {
    EXPECT_NE(std::string(e.what()).find("did not finish within its deadline"), std::string::npos);
  }
  const auto snapshot = slow->breaker->snapshot();
  EXPECT_EQ(snapshot.state, BreakerState::open);
  EXPECT_EQ(snapshot.last_failure, "the call overran its deadline");
}

TEST_F(GuardedCallTest, AProbeRefusedBeforeTheDriverCallLetsTheNextCallProbe) {
  open_then_half_open("dc-1");
  auto probe_target = target("dc-1");
  // The probe's driver files are refused before the driver runs.
  auto refused = start(probe_target, 5s, [] { throw sdk::InvalidDriverFilesError("not a ZIP"); });
  EXPECT_THROW(wait(refused), sdk::InvalidDriverFilesError);
  auto snapshot = probe_target->breaker->snapshot();
  EXPECT_EQ(snapshot.state, BreakerState::half_open) << "the target was never asked";
  EXPECT_EQ(snapshot.consecutive_failures, 1u);
  // The next call probes at once, and its success closes the breaker.
  auto next = start(probe_target, 5s);
  EXPECT_EQ(wait(next), 1);
  EXPECT_EQ(probe_target->breaker->snapshot().state, BreakerState::closed);
}

TEST_F(GuardedCallTest, AProbeThatExpiredInTheQueueOrWasRejectedLetsTheNextCallProbe) {
  open_then_half_open("dc-1");
  open_then_half_open("dc-2");
  auto first = target("dc-1");
  auto second = target("dc-2");
  block_the_pool();
  auto expired = start(first, 50ms);  // the probe of dc-1 waits past its deadline
  EXPECT_THROW(wait(expired), CallExpiredInQueue);
  auto queued = start(first, 60s);    // the next probe, holding the only queue slot
  auto rejected = start(second, 5s);  // dc-2's probe finds the queue full
  EXPECT_THROW(wait(rejected), CallRejected);
  EXPECT_NO_THROW(manager_.admit(*second)) << "the rejected probe gave its slot back";
  release_ = true;
  EXPECT_EQ(wait(queued), 1);
  EXPECT_EQ(first->breaker->snapshot().state, BreakerState::closed);
}

TEST_F(GuardedCallTest, APollThatExpiredInTheQueueGivesItsProbeBackAndCountsNeitherWay) {
  open_then_half_open("dc-1");
  auto polled = target("dc-1");
  GuardedPoll poll;
  const auto probe = manager_.admit(*polled);
  ASSERT_NE(probe, 0u);
  poll.queued(3, probe);
  EXPECT_FALSE(poll.expired(3, manager_, *polled)) << "still queued at its deadline";
  EXPECT_FALSE(poll.start(3)) << "a poll given up on never starts";
  auto snapshot = polled->breaker->snapshot();
  EXPECT_EQ(snapshot.state, BreakerState::half_open);
  EXPECT_EQ(snapshot.consecutive_failures, 1u);
  // The next run probes at once; it starts, then overruns: the target's timeout.
  const auto next = manager_.admit(*polled);
  ASSERT_NE(next, 0u);
  poll.queued(4, next);
  EXPECT_TRUE(poll.start(4));
  EXPECT_TRUE(poll.expired(4, manager_, *polled));
  snapshot = polled->breaker->snapshot();
  EXPECT_EQ(snapshot.state, BreakerState::open);
  EXPECT_EQ(snapshot.last_failure, "the call overran its deadline");
}

TEST_F(GuardedCallTest, PollsOfAHealthyTargetThatExpireInTheQueueNeverOpenItsBreaker) {
  auto healthy = target("dc-ok");
  GuardedPoll poll;
  for (std::uint32_t attempt = 0; attempt < 5; ++attempt) {
    poll.queued(attempt, manager_.admit(*healthy));
    EXPECT_FALSE(poll.expired(attempt, manager_, *healthy));
    EXPECT_FALSE(poll.start(attempt));
  }
  EXPECT_EQ(healthy->breaker->snapshot().state, BreakerState::closed);
  EXPECT_EQ(healthy->breaker->snapshot().consecutive_failures, 0u);
}

}  // namespace
}  // namespace flint::drivers
