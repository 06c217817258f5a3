#pragma once

/// @file
/// The built-in `netns` infrastructure (VIM) driver: builds TOSCA topologies
/// on this Linux host as network namespaces, bridges and veth pairs.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <flint/sdk/infrastructure_driver.hpp>

namespace flint::drivers::netns {

class Kernel;

/// An infrastructure driver for the local machine: a `tosca.nodes.Compute`
/// becomes a network namespace, a `tosca.nodes.network.Network` a Linux bridge
/// and a `tosca.nodes.network.Port` a veth pair between them (see README.md
/// for the template subset, the naming and the failure codes).
///
/// Creates and deletes are accepted at once and run, one at a time, on a
/// worker thread owned by the driver. Every task is recorded in
/// `Options::state_dir`; a task left unfinished by a previous process is
/// resolved at construction (an interrupted create is rolled back and ends
/// FAILED, an interrupted delete is run again).
///
/// Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) and iproute2; see
/// `system_unavailable_reason()`. Thread-safe: every method may be called from
/// several threads at once.
class NetnsDriver : public sdk::InfrastructureDriver {
 public:
  /// Configuration.
  struct Options {
    /// Directory of the durable task and infrastructure records (created when
    /// missing). One driver instance per directory.
    std::filesystem::path state_dir;
    /// Capacity: how many namespaces (Compute nodes) the infrastructures of
    /// this driver may hold in total; beyond it a create ends FAILED with
    /// INSUFFICIENT_CAPACITY.
    std::size_t max_computes = 64;
    /// Start of the name of everything the driver creates: 1 to 6 characters
    /// of [a-z0-9], starting with a letter (interface names have 15).
    std::string prefix = "fl";
    /// Limit of one `ip` command; past it the command is killed and the task
    /// fails.
    std::chrono::milliseconds command_timeout{std::chrono::seconds(10)};
    /// Test hook: where commands and probes go; null for the real system.
    std::shared_ptr<Kernel> kernel;
  };

  /// Loads the state, queues the resolution of unfinished tasks and starts
  /// the worker thread.
  /// @throws std::invalid_argument for bad options; std::runtime_error when
  ///         the state directory is unusable or holds a corrupt record.
  explicit NetnsDriver(Options options);
  /// Stops the worker after its current command and joins it. A task still
  /// running is left unfinished in the state directory, to be resolved by the
  /// next driver on that directory, exactly as after a crash.
  ~NetnsDriver() override;
  NetnsDriver(const NetnsDriver&) = delete;
  NetnsDriver& operator=(const NetnsDriver&) = delete;

  /// Why the driver cannot work on this host (not root, no `ip` binary,
  /// `ip netns add` or veth/bridge creation not permitted), or nullopt when it
  /// can. Probes once with a throw-away namespace and caches the answer.
  static std::optional<std::string> system_unavailable_reason();

  /// The privileges this instance lacks (checked at construction), or empty.
  std::string unavailable_reason() const override;

  /// Validates the template fully (InvalidTemplateError on any problem) and
  /// the instance name (`resourceName`, else `resourceId`; InvalidRequestError
  /// without either), then accepts the task. An existing infrastructure of the
  /// same instance name (or kernel objects with its names) makes the task end
  /// FAILED with RESOURCE_ALREADY_EXISTS; exceeding `max_computes`, FAILED
  /// with INSUFFICIENT_CAPACITY.
  /// @throws InvalidTemplateError, InvalidRequestError, InfrastructureError
  ///         (state cannot be written).
  sdk::InfrastructureTaskAccepted create_infrastructure(
      const sdk::CreateInfrastructureRequest& request, sdk::CallContext& context) override;

  /// The status of a task from its record; outputs on a COMPLETE create.
  /// @throws InfrastructureNotFoundError, RequestNotFoundError.
  sdk::InfrastructureTask get_infrastructure_task(std::string_view infrastructure_id,
                                                  std::string_view request_id,
                                                  const sdk::DeploymentLocation& location,
                                                  sdk::CallContext& context) override;

  /// Accepts a task that removes everything of the infrastructure (after any
  /// task of it still queued).
  /// @throws InfrastructureNotFoundError for an unknown or already deleted id;
  ///         InfrastructureError (state cannot be written).
  sdk::InfrastructureTaskAccepted delete_infrastructure(std::string_view infrastructure_id,
                                                        const sdk::DeploymentLocation& location,
                                                        sdk::CallContext& context) override;

  /// The COMPLETE infrastructure created under `instance_name` whose
  /// namespaces all exist and which has every node of the template, with the
  /// template's outputs read from it; no result otherwise. `get_input` values
  /// without a default are allowed (find gets no properties).
  /// @throws InvalidTemplateError.
  sdk::FindInfrastructureResponse find_infrastructure(const sdk::FindInfrastructureRequest& request,
                                                      sdk::CallContext& context) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flint::drivers::netns
