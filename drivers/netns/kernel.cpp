#include "netns/kernel.hpp"

#include <atomic>
#include <fstream>
#include <sstream>
#include <system_error>

#include <net/if.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "script/child_process.hpp"

namespace flint::drivers::netns {
namespace {

namespace fs = std::filesystem;
using script::ChildProcess;
using script::SpawnSpec;

constexpr std::size_t kMaxErrorOutput = 2048;
// iproute2's NETNS_RUN_DIR.
constexpr const char* kNetnsRunDir = "/var/run/netns";

std::string read_capped(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text(kMaxErrorOutput + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  const bool truncated = text.size() > kMaxErrorOutput;
  if (truncated) text.resize(kMaxErrorOutput);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) {
    text.pop_back();
  }
  if (truncated) text += "...";
  return text;
}

class SystemKernel final : public Kernel {
 public:
  SystemKernel(fs::path scratch, std::chrono::milliseconds timeout)
      : scratch_(std::move(scratch)), timeout_(timeout), binary_(find_ip_binary()) {}

  CommandResult ip(const std::vector<std::string>& args) override {
    CommandResult result;
    if (!binary_) {
      result.error_output = "no `ip` binary (iproute2) in /usr/sbin, /sbin, /usr/bin or /bin";
      return result;
    }
    const auto id = std::to_string(::getpid()) + "-" + std::to_string(counter_.fetch_add(1));
    SpawnSpec spec;
    spec.argv.push_back(binary_->string());
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.environment = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"};
    spec.working_directory = scratch_;
    spec.stdin_file = "/dev/null";
    spec.stdout_file = scratch_ / ("ip-" + id + ".out");
    spec.stderr_file = scratch_ / ("ip-" + id + ".err");
    try {
      auto child = ChildProcess::spawn(spec);
      if (!child.wait_until(std::chrono::steady_clock::now() + timeout_)) {
        child.signal_group(SIGKILL);
        child.reap();
        result.timed_out = true;
      } else {
        const auto status = child.reap();
        if (status && WIFEXITED(*status)) result.exit_code = WEXITSTATUS(*status);
      }
      result.error_output = read_capped(spec.stderr_file);
    } catch (const std::system_error& e) {
      result.error_output = e.what();
    }
    std::error_code ignored;
    fs::remove(spec.stdout_file, ignored);
    fs::remove(spec.stderr_file, ignored);
    return result;
  }

  bool namespace_exists(const std::string& name) override {
    std::error_code ec;
    return !name.empty() && name.find('/') == std::string::npos &&
           fs::exists(fs::path(kNetnsRunDir) / name, ec);
  }

  bool link_exists(const std::string& name) override {
    return !name.empty() && name.size() < IF_NAMESIZE && ::if_nametoindex(name.c_str()) != 0;
  }

 private:
  fs::path scratch_;
  std::chrono::milliseconds timeout_;
  std::optional<fs::path> binary_;
  std::atomic<unsigned long> counter_{0};
};

}  // namespace

std::string describe_command(const std::vector<std::string>& args) {
  std::string text = "ip";
  for (const auto& arg : args) {
    text += ' ';
    text += arg;
  }
  return text;
}

std::optional<fs::path> find_ip_binary() {
  for (const char* candidate : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (::access(candidate, X_OK) == 0) return fs::path(candidate);
  }
  return std::nullopt;
}

std::shared_ptr<Kernel> make_system_kernel(fs::path scratch_dir,
                                           std::chrono::milliseconds timeout) {
  return std::make_shared<SystemKernel>(std::move(scratch_dir), timeout);
}

}  // namespace flint::drivers::netns
