#pragma once

// Helpers shared by the netns driver tests: temporary directories, a call
// context, and a kernel that simulates iproute2 (or wraps the real one) with
// failure injection and a gate to stop the worker in the middle of a build.

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <flint/sdk/call_context.hpp>
#include <flint/sdk/infrastructure_driver.hpp>

#include "netns/kernel.hpp"
#include "netns/netns_driver.hpp"

namespace flint::drivers::netns::testing {

using namespace std::chrono_literals;

/// A directory removed with everything in it when the object dies.
class TempDir {
 public:
  TempDir() {
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() /
            ("flint-netns-test-" + std::to_string(::getpid()) + "-" + std::to_string(random()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// Content of a file, or empty.
inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

/// The example template shipped with the driver.
inline std::string two_hosts_template() {
  return read_text(std::filesystem::path(FLINT_NETNS_EXAMPLES) / "two-hosts.yaml");
}

/// A call context that ignores logs.
class FakeContext : public sdk::CallContext {
 public:
  std::string_view tenant_id() const noexcept override { return {}; }
  const TraceFields& trace_context() const noexcept override { return trace_; }
  std::chrono::steady_clock::time_point deadline() const noexcept override {
    return std::chrono::steady_clock::now() + 1min;
  }
  void write_log(sdk::LogLevel, std::string_view, std::span<const sdk::LogField>) override {}

 private:
  TraceFields trace_;
};

/// A create request for `template_text` named `name`.
inline sdk::CreateInfrastructureRequest create_request(std::string template_text,
                                                       std::string name) {
  sdk::CreateInfrastructureRequest request;
  request.template_text = std::move(template_text);
  request.template_type = "TOSCA";
  request.system_properties.set("resourceId", sdk::Property::string(name + "-id"));
  request.system_properties.set("resourceName", sdk::Property::string(name));
  request.deployment_location.name = "local";
  return request;
}

/// Polls the task until it is terminal (or `timeout`); returns the last status.
inline sdk::InfrastructureTask wait_terminal(sdk::InfrastructureDriver& driver,
                                             const sdk::InfrastructureTaskAccepted& accepted,
                                             std::chrono::milliseconds timeout = 30s) {
  FakeContext context;
  const auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto task = driver.get_infrastructure_task(accepted.infrastructure_id, accepted.request_id, {},
                                               context);
    if (sdk::is_terminal(task.status) || std::chrono::steady_clock::now() >= end) return task;
    std::this_thread::sleep_for(5ms);
  }
}

/// Simulates iproute2 in memory (no root needed) or, given an inner kernel,
/// passes everything to it. In both modes it records every command, can fail
/// the commands that contain a text, and can hold command number N until the
/// test opens the gate.
class TestKernel : public Kernel {
 public:
  explicit TestKernel(std::shared_ptr<Kernel> inner = nullptr) : inner_(std::move(inner)) {}

  /// Commands containing `text` fail with exit 2.
  void fail_commands_containing(std::string text) {
    std::lock_guard lock(mutex_);
    fail_text_ = std::move(text);
  }
  /// Command number `n` (1-based) waits until `open_gate()` (at most 20 s).
  void close_gate_at(std::size_t n) {
    std::lock_guard lock(mutex_);
    gate_at_ = n;
    gate_open_ = false;
  }
  /// Releases the command held at the gate.
  void open_gate() {
    std::lock_guard lock(mutex_);
    gate_open_ = true;
    changed_.notify_all();
  }
  /// Waits until a command reached the gate.
  bool wait_gate_reached(std::chrono::milliseconds timeout = 20s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return gate_reached_; });
  }
  /// Every command so far, as `ip a b c`.
  std::vector<std::string> commands() {
    std::lock_guard lock(mutex_);
    return commands_;
  }
  /// Simulated objects (simulation mode only).
  std::set<std::string> namespaces() {
    std::lock_guard lock(mutex_);
    return namespaces_;
  }
  std::set<std::string> links() {
    std::lock_guard lock(mutex_);
    std::set<std::string> out;
    for (const auto& [name, ns] : links_) out.insert(name);
    return out;
  }
  /// Adds a simulated namespace (simulation mode only).
  void add_namespace(const std::string& name) {
    std::lock_guard lock(mutex_);
    namespaces_.insert(name);
  }

  CommandResult ip(const std::vector<std::string>& args) override {
    const auto line = describe_command(args);
    {
      std::unique_lock lock(mutex_);
      commands_.push_back(line);
      if (gate_at_ != 0 && commands_.size() == gate_at_) {
        gate_reached_ = true;
        changed_.notify_all();
        changed_.wait_for(lock, 20s, [&] { return gate_open_; });
      }
      if (!fail_text_.empty() && line.find(fail_text_) != std::string::npos) {
        return {2, false, "RTNETLINK answers: injected failure"};
      }
    }
    if (inner_) return inner_->ip(args);
    std::lock_guard lock(mutex_);
    return simulate(args);
  }
  bool namespace_exists(const std::string& name) override {
    if (inner_) return inner_->namespace_exists(name);
    std::lock_guard lock(mutex_);
    return namespaces_.count(name) != 0;
  }
  bool link_exists(const std::string& name) override {
    if (inner_) return inner_->link_exists(name);
    std::lock_guard lock(mutex_);
    return links_.count(name) != 0;
  }

 private:
  CommandResult simulate(std::vector<std::string> args) {
    const auto fail = [](std::string why) { return CommandResult{1, false, std::move(why)}; };
    if (args.size() >= 2 && args[0] == "-n") {
      if (namespaces_.count(args[1]) == 0) return fail("Cannot open network namespace");
      return {0, false, {}};
    }
    if (args.size() == 3 && args[0] == "netns" && args[1] == "add") {
      if (!namespaces_.insert(args[2]).second) return fail("File exists");
      return {0, false, {}};
    }
    if (args.size() == 3 && args[0] == "netns" && args[1] == "del") {
      if (namespaces_.erase(args[2]) == 0) return fail("No such file or directory");
      for (auto it = links_.begin(); it != links_.end();) {
        it = it->second == args[2] ? links_.erase(it) : std::next(it);
      }
      return {0, false, {}};
    }
    if (args.size() >= 5 && args[0] == "link" && args[1] == "add") {
      if (links_.count(args[2]) != 0) return fail("RTNETLINK answers: File exists");
      std::string peer_namespace;
      if (args.size() == 10 && args[4] == "veth") {
        if (namespaces_.count(args[9]) == 0) return fail("Invalid \"netns\" value");
        peer_namespace = args[9];
      }
      links_[args[2]] = peer_namespace;
      return {0, false, {}};
    }
    if (args.size() == 3 && args[0] == "link" && args[1] == "del") {
      if (links_.erase(args[2]) == 0) return fail("Cannot find device");
      return {0, false, {}};
    }
    if (args.size() >= 3 && args[0] == "link" && args[1] == "set") {
      if (links_.count(args[2]) == 0) return fail("Cannot find device");
      return {0, false, {}};
    }
    return fail("unsupported by the simulation: " + describe_command(args));
  }

  std::shared_ptr<Kernel> inner_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> commands_;
  std::string fail_text_;
  std::size_t gate_at_ = 0;
  bool gate_open_ = true;
  bool gate_reached_ = false;
  std::set<std::string> namespaces_;
  std::map<std::string, std::string> links_;  // name -> namespace of its veth peer
};

}  // namespace flint::drivers::netns::testing
