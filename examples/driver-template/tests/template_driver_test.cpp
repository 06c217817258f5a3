// Unit tests of the driver class, called directly as the host would.

#include "template_driver.hpp"

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <flint/sdk/driver_plugin.hpp>
#include <flint/sdk/errors.hpp>
#include <flint/sdk/version.hpp>

// Defined in plugin.cpp by FLINT_DRIVER_PLUGIN.
extern "C" const flint::sdk::DriverPlugin* flint_driver_plugin();

namespace driver {
namespace {

namespace sdk = flint::sdk;
using namespace std::chrono_literals;

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

// Keeps what a library registers, as the host does.
class FakeRegistrar : public sdk::DriverRegistrar {
 public:
  void add_driver(sdk::DriverKind kind, sdk::DriverInfo info, sdk::DriverFactory factory) override {
    if (kind != sdk::DriverKind::resource) {
      ADD_FAILURE() << "a resource driver library registered a " << sdk::to_string(kind)
                    << " driver, " << info.name;
      return;
    }
    infos.push_back(std::move(info));
    factories.push_back(std::move(factory));
  }

  // Makes an instance of the first driver registered, as the host does: its
  // factory makes the contract of the kind it was registered with.
  std::unique_ptr<sdk::ResourceDriver> make(const sdk::DriverInstanceContext& context) const {
    return std::unique_ptr<sdk::ResourceDriver>(
        static_cast<sdk::ResourceDriver*>(factories.front()(context).release()));
  }

  std::vector<sdk::DriverInfo> infos;
  std::vector<sdk::DriverFactory> factories;
};

sdk::ExecuteLifecycleRequest request_for(std::string lifecycle_name) {
  sdk::ExecuteLifecycleRequest request;
  request.lifecycle_name = std::move(lifecycle_name);
  request.deployment_location.name = "lab";
  return request;
}

class TemplateDriverTest : public ::testing::Test {
 protected:
  sdk::LifecycleExecution poll(sdk::ResourceDriver& driver, const std::string& id) {
    return driver.get_lifecycle_execution(id, location_, context_);
  }

  sdk::DeploymentLocation location_{"lab", "Test", {}};
  FakeContext context_;
};

TEST_F(TemplateDriverTest, EverySupportedLifecycleCompletesWithItsNameAsOutput) {
  TemplateDriver driver(0ms);
  for (const char* name :
       {"Create", "Install", "Configure", "Start", "Stop", "Uninstall", "Delete"}) {
    const auto id = driver.execute_lifecycle(request_for(name), context_).request_id;
    const auto execution = poll(driver, id);
    EXPECT_EQ(execution.request_id, id);
    EXPECT_EQ(execution.status, sdk::ExecutionStatus::complete) << name;
    EXPECT_EQ(execution.outputs.at("lifecycleName"), name);
    EXPECT_EQ(poll(driver, id), execution) << "polls are idempotent";
  }
}

TEST_F(TemplateDriverTest, AnExecutionIsInProgressUntilTheWorkDurationHasElapsed) {
  TemplateDriver slow(1h);
  const auto id = slow.execute_lifecycle(request_for("Install"), context_).request_id;
  EXPECT_EQ(poll(slow, id), sdk::LifecycleExecution::in_progress(id));

  TemplateDriver quick(20ms);
  const auto quick_id = quick.execute_lifecycle(request_for("Install"), context_).request_id;
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(poll(quick, quick_id).status, sdk::ExecutionStatus::complete);
}

TEST_F(TemplateDriverTest, AnUnknownLifecycleIsRefused) {
  TemplateDriver driver(0ms);
  try {
    driver.execute_lifecycle(request_for("Reboot"), context_);
    FAIL() << "expected InvalidLifecycleNameError";
  } catch (const sdk::InvalidLifecycleNameError& error) {
    EXPECT_NE(std::string(error.what()).find("'Reboot' is not supported"), std::string::npos)
        << error.what();
  }
}

TEST_F(TemplateDriverTest, RequestIdsAreTimeOrderedAndUnique) {
  TemplateDriver driver(0ms);
  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    ids.push_back(driver.execute_lifecycle(request_for("Create"), context_).request_id);
  }
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
  EXPECT_LE(ids.front(), ids.back());
  EXPECT_EQ(ids.front().size(), 36u);
}

TEST_F(TemplateDriverTest, UnknownAndDeliveredExecutionsAreNotFound) {
  TemplateDriver driver(0ms);
  EXPECT_THROW(poll(driver, "no-such-request"), sdk::RequestNotFoundError);
  const auto id = driver.execute_lifecycle(request_for("Create"), context_).request_id;
  driver.on_execution_delivered(id, location_, context_);
  EXPECT_THROW(poll(driver, id), sdk::RequestNotFoundError);
  driver.on_execution_delivered(id, location_, context_);  // twice is harmless
}

TEST_F(TemplateDriverTest, FindsNothing) {
  TemplateDriver driver(0ms);
  sdk::FindReferenceRequest request;
  request.instance_name = "web-1";
  request.deployment_location = location_;
  EXPECT_FALSE(driver.find_reference(request, context_).result);
}

TEST_F(TemplateDriverTest, ConcurrentCallsAreSafe) {
  TemplateDriver driver(0ms);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      FakeContext context;
      for (int i = 0; i < 200; ++i) {
        const auto id = driver.execute_lifecycle(request_for("Start"), context).request_id;
        EXPECT_EQ(driver.get_lifecycle_execution(id, location_, context).status,
                  sdk::ExecutionStatus::complete);
        driver.on_execution_delivered(id, location_, context);
      }
    });
  }
  for (auto& thread : threads) thread.join();
}

TEST_F(TemplateDriverTest, TheLibraryRegistersTheDriverWithItsSettings) {
  const sdk::DriverPlugin* plugin = flint_driver_plugin();
  ASSERT_NE(plugin, nullptr);
  EXPECT_EQ(plugin->abi_version, static_cast<std::uint32_t>(FLINT_SDK_ABI_VERSION));
  EXPECT_STREQ(plugin->sdk_version, FLINT_SDK_VERSION_STRING);

  FakeRegistrar registrar;
  plugin->register_drivers(registrar);
  ASSERT_EQ(registrar.infos.size(), 1u);
  const sdk::DriverInfo& info = registrar.infos.front();
  EXPECT_EQ(info.name, "template");
  EXPECT_TRUE(sdk::is_valid_driver_name(info.name));
  EXPECT_EQ(info.scope, sdk::InstanceScope::per_target);
  EXPECT_FALSE(info.version.empty());
  EXPECT_FALSE(info.description.empty());
  ASSERT_EQ(info.settings.size(), 1u);
  EXPECT_EQ(info.settings.front().name, "work_duration");
  EXPECT_EQ(info.settings.front().type, sdk::SettingType::duration);
  EXPECT_EQ(info.settings.front().default_value, "2s");

  // The host hands the factory normalised settings: durations in milliseconds.
  const sdk::DriverSettings settings("template", {{"work_duration", "3600000"}});
  const auto instance = registrar.make({.settings = settings, .target = &location_});
  ASSERT_NE(instance, nullptr);
  const auto id = instance->execute_lifecycle(request_for("Create"), context_).request_id;
  EXPECT_EQ(poll(*instance, id).status, sdk::ExecutionStatus::in_progress);

  // The host replaces an instance when its location's properties change:
  // the successor answers for what the first one started.
  const auto successor = registrar.make({.settings = settings, .target = &location_});
  EXPECT_EQ(poll(*successor, id).status, sdk::ExecutionStatus::in_progress);
}

}  // namespace
}  // namespace driver
