// A tiny resource driver compiled against the installed SDK only: every
// execution completes at once, echoing its lifecycle name as an output.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include <flint/sdk/errors.hpp>
#include <flint/sdk/ids.hpp>
#include <flint/sdk/resource_driver.hpp>

class EchoDriver final : public flint::sdk::ResourceDriver {
 public:
  flint::sdk::LifecycleExecuteResponse execute_lifecycle(
      const flint::sdk::ExecuteLifecycleRequest& request,
      flint::sdk::CallContext& /*context*/) override {
    flint::sdk::LifecycleExecuteResponse response;
    response.request_id = flint::sdk::new_time_ordered_id();
    std::lock_guard lock(mutex_);
    executions_.emplace(response.request_id, request.lifecycle_name);
    return response;
  }
  flint::sdk::LifecycleExecution get_lifecycle_execution(
      std::string_view request_id, const flint::sdk::DeploymentLocation& /*location*/,
      flint::sdk::CallContext& /*context*/) override {
    std::lock_guard lock(mutex_);
    const auto it = executions_.find(request_id);
    if (it == executions_.end()) {
      throw flint::sdk::RequestNotFoundError("echo driver: request \"" + std::string(request_id) +
                                             "\" not found");
    }
    return flint::sdk::LifecycleExecution::complete(it->first, {{"lifecycle", it->second}});
  }
  flint::sdk::FindReferenceResponse find_reference(
      const flint::sdk::FindReferenceRequest& /*request*/,
      flint::sdk::CallContext& /*context*/) override {
    return {};  // nothing exists: not finding is not an error
  }
  void on_execution_delivered(std::string_view request_id,
                              const flint::sdk::DeploymentLocation& /*location*/,
                              flint::sdk::CallContext& /*context*/) override {
    std::lock_guard lock(mutex_);
    if (const auto it = executions_.find(request_id); it != executions_.end()) {
      executions_.erase(it);
    }
  }

 private:
  std::mutex mutex_;
  // request id -> lifecycle name, until delivered
  std::map<std::string, std::string, std::less<>> executions_;
};
