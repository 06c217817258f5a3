#include "template_driver.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include <flint/sdk/errors.hpp>
#include <flint/sdk/ids.hpp>

namespace driver {

namespace sdk = flint::sdk;

namespace {

constexpr std::array<std::string_view, 7> kLifecycles = {
    "Create", "Install", "Configure", "Start", "Stop", "Uninstall", "Delete"};

}  // namespace

sdk::DriverInfo TemplateDriver::info() {
  return {
      .name = "template",
      .version = "0.1.0",
      .description = "Simulated lifecycles that complete after a configurable time",
      .scope = sdk::InstanceScope::per_target,
      .settings = {{.name = std::string(kWorkDurationSetting),
                    .type = sdk::SettingType::duration,
                    .default_value = "2s",
                    .description = "How long each lifecycle execution takes"}},
  };
}

std::unique_ptr<sdk::ResourceDriver> TemplateDriver::make(const sdk::DriverInstanceContext& context,
                                                          std::shared_ptr<ExecutionBook> book) {
  // A per_target instance serves one deployment location (*context.target):
  // a real driver would connect to it here.
  return std::make_unique<TemplateDriver>(context.settings.duration(kWorkDurationSetting),
                                          std::move(book));
}

TemplateDriver::TemplateDriver(std::chrono::milliseconds work_duration,
                               std::shared_ptr<ExecutionBook> book)
    : work_duration_(work_duration), book_(std::move(book)) {}

sdk::LifecycleExecuteResponse TemplateDriver::execute_lifecycle(
    const sdk::ExecuteLifecycleRequest& request, sdk::CallContext& context) {
  if (std::find(kLifecycles.begin(), kLifecycles.end(), request.lifecycle_name) ==
      kLifecycles.end()) {
    throw sdk::InvalidLifecycleNameError(
        "lifecycle '" + request.lifecycle_name +
        "' is not supported: expected Create, Install, Configure, Start, Stop, Uninstall or "
        "Delete");
  }
  sdk::LifecycleExecuteResponse response;
  response.request_id = sdk::new_time_ordered_id();
  {
    std::lock_guard lock(book_->mutex);
    book_->executions.emplace(
        response.request_id,
        ExecutionBook::Execution{request.lifecycle_name, std::chrono::steady_clock::now()});
  }
  // The ids also go as named values: a log search finds the line without parsing its text.
  context.info("started " + request.lifecycle_name + " as " + response.request_id,
               {{"requestId", response.request_id}, {"lifecycleName", request.lifecycle_name}});
  return response;
}

sdk::LifecycleExecution TemplateDriver::get_lifecycle_execution(
    std::string_view request_id, const sdk::DeploymentLocation& /*location*/,
    sdk::CallContext& /*context*/) {
  std::lock_guard lock(book_->mutex);
  const auto it = book_->executions.find(request_id);
  if (it == book_->executions.end()) {
    throw sdk::RequestNotFoundError("request '" + std::string(request_id) + "' not found");
  }
  const ExecutionBook::Execution& execution = it->second;
  if (std::chrono::steady_clock::now() - execution.started < work_duration_) {
    return sdk::LifecycleExecution::in_progress(std::string(request_id));
  }
  boost::json::object outputs;
  outputs["lifecycleName"] = execution.lifecycle_name;
  return sdk::LifecycleExecution::complete(std::string(request_id), std::move(outputs));
}

sdk::FindReferenceResponse TemplateDriver::find_reference(
    const sdk::FindReferenceRequest& /*request*/, sdk::CallContext& /*context*/) {
  return {};  // not finding anything is not an error
}

void TemplateDriver::on_execution_delivered(std::string_view request_id,
                                            const sdk::DeploymentLocation& /*location*/,
                                            sdk::CallContext& /*context*/) {
  std::lock_guard lock(book_->mutex);
  if (const auto it = book_->executions.find(request_id); it != book_->executions.end()) {
    book_->executions.erase(it);
  }
}

}  // namespace driver
