// The netns driver against the real kernel. Needs root and `ip netns`;
// skipped (with the reason) otherwise. Every test uses its own random name
// prefix, so that parallel runs and leftovers of killed runs cannot collide,
// and removes everything bearing it in TearDown.

#include <cstdio>
#include <random>
#include <sstream>

#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <flint/sdk/errors.hpp>

#include "netns/netns_driver.hpp"
#include "netns/plan.hpp"
#include "netns/test_support.hpp"

namespace flint::drivers::netns {
namespace {

namespace fs = std::filesystem;
using sdk::ExecutionStatus;
using sdk::FailureCode;
using testing::create_request;
using testing::FakeContext;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::TempDir;
using testing::TestKernel;
using testing::two_hosts_template;
using testing::wait_terminal;
using namespace std::chrono_literals;

struct Shell {
  int status = -1;
  std::string output;
};

// Runs a fixed command line (test-controlled text only) and captures stdout.
Shell shell(const std::string& command) {
  Shell result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return result;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  result.status = ::pclose(pipe);
  return result;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Namespaces and interfaces of the host whose names start with `prefix`.
std::vector<std::string> objects_with_prefix(const std::string& prefix) {
  std::vector<std::string> found;
  for (const auto& line : lines(shell("ip netns list").output)) {
    const auto name = line.substr(0, line.find(' '));
    if (name.rfind(prefix, 0) == 0) found.push_back("netns " + name);
  }
  for (const auto& line : lines(shell("ip -o link show").output)) {
    // "12: name@peer: <...>" or "12: name: <...>"
    const auto start = line.find(": ");
    if (start == std::string::npos) continue;
    auto name = line.substr(start + 2);
    name = name.substr(0, name.find_first_of("@:"));
    if (name.rfind(prefix, 0) == 0) found.push_back("link " + name);
  }
  return found;
}

// Runs `body` in a thread that joined the network namespace `ns`.
template <typename Body>
auto in_namespace(const std::string& ns, Body body) {
  decltype(body()) result{};
  std::thread thread([&] {
    const int fd = ::open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    const bool joined = ::setns(fd, CLONE_NEWNET) == 0;
    ::close(fd);
    if (joined) result = body();
  });
  thread.join();
  return result;
}

sockaddr_in socket_address(const std::string& address, std::uint16_t port) {
  sockaddr_in out{};
  out.sin_family = AF_INET;
  out.sin_port = htons(port);
  ::inet_pton(AF_INET, address.c_str(), &out.sin_addr);
  return out;
}

// True when a TCP connection from namespace `from` reaches `address` (a
// listener opened in namespace `to`).
bool tcp_reachable(const std::string& from, const std::string& to, const std::string& address) {
  const int listener = in_namespace(to, [&] {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    auto bound = socket_address(address, 0);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&bound), sizeof bound) != 0 ||
        ::listen(fd, 1) != 0) {
      if (fd >= 0) ::close(fd);
      return -1;
    }
    return fd;
  });
  if (listener <= 0) return false;  // 0: the namespace could not be joined
  sockaddr_in bound{};
  socklen_t length = sizeof bound;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&bound), &length);
  const bool connected = in_namespace(from, [&] {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    timeval timeout{3, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    auto target = socket_address(address, ntohs(bound.sin_port));
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&target), sizeof target) == 0;
    ::close(fd);
    return ok;
  });
  ::close(listener);
  return connected;
}

std::optional<std::string> ping_binary() {
  for (const char* candidate : {"/usr/bin/ping", "/bin/ping"}) {
    if (::access(candidate, X_OK) == 0) return std::string(candidate);
  }
  return std::nullopt;
}

class NetnsIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const auto reason = NetnsDriver::system_unavailable_reason()) {
      GTEST_SKIP() << "netns driver unavailable: " << *reason;
    }
    static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::random_device random;
    prefix_ = "t";
    for (int i = 0; i < 5; ++i) prefix_ += kAlphabet[random() % 36];
  }
  void TearDown() override {
    if (prefix_.empty()) return;
    for (const auto& object : objects_with_prefix(prefix_)) {
      if (object.rfind("netns ", 0) == 0) shell("ip netns del " + object.substr(6));
    }
    for (const auto& object : objects_with_prefix(prefix_)) {
      if (object.rfind("link ", 0) == 0) shell("ip link del " + object.substr(5));
    }
  }

  NetnsDriver::Options options(std::shared_ptr<Kernel> kernel = nullptr,
                               std::size_t max_computes = 64) {
    NetnsDriver::Options o;
    o.state_dir = dir_.path() / "state";
    o.max_computes = max_computes;
    o.prefix = prefix_;
    o.command_timeout = 10s;
    o.kernel = std::move(kernel);
    return o;
  }
  // A real kernel wrapped for failure injection.
  std::shared_ptr<TestKernel> wrapped_kernel() {
    fs::create_directories(dir_.path() / "scratch");
    return std::make_shared<TestKernel>(make_system_kernel(dir_.path() / "scratch", 10s));
  }
  sdk::InfrastructureTaskAccepted create(NetnsDriver& driver, const std::string& name) {
    return driver.create_infrastructure(create_request(two_hosts_template(), name), context_);
  }
  std::vector<std::string> leftovers() const { return objects_with_prefix(prefix_); }

  TempDir dir_;
  std::string prefix_;
  FakeContext context_;
};

TEST_F(NetnsIntegrationTest, CreateCheckPingFindDelete) {
  NetnsDriver driver(options());
  const auto created = create(driver, "two-hosts");
  const auto task = wait_terminal(driver, created);
  ASSERT_EQ(task.status, ExecutionStatus::complete)
      << (task.failure_details ? task.failure_details->description : "");
  const auto ns_a = std::string(task.outputs.at("namespace_a").as_string());
  const auto ns_b = std::string(task.outputs.at("namespace_b").as_string());
  const auto bridge = std::string(task.outputs.at("bridge").as_string());
  EXPECT_EQ(task.outputs.at("address_a"), "10.10.0.11");
  EXPECT_EQ(task.outputs.at("address_b"), "10.10.0.12");

  const auto netns_list = shell("ip netns list").output;
  EXPECT_THAT(netns_list, HasSubstr(ns_a));
  EXPECT_THAT(netns_list, HasSubstr(ns_b));
  const auto addr_a = shell("ip -n " + ns_a + " addr show dev eth0").output;
  EXPECT_THAT(addr_a, HasSubstr("inet 10.10.0.11/24"));
  EXPECT_THAT(addr_a, HasSubstr("UP,LOWER_UP"));
  EXPECT_THAT(shell("ip -n " + ns_b + " addr show dev eth0").output,
              HasSubstr("inet 10.10.0.12/24"));
  EXPECT_THAT(shell("ip -n " + ns_a + " link show lo").output, HasSubstr("LOOPBACK,UP"));
  const auto bridge_link = shell("ip -d link show " + bridge);
  EXPECT_EQ(bridge_link.status, 0) << bridge_link.output;
  EXPECT_THAT(bridge_link.output, HasSubstr("bridge"));
  EXPECT_THAT(bridge_link.output, HasSubstr("UP"));
  EXPECT_THAT(shell("ip -n " + ns_a + " -o addr").output, ::testing::Not(HasSubstr("10.10.0.1/")));
  // (A dump racing with other tests' link changes may add a warning line.)
  std::vector<std::string> ports;
  for (const auto& line : lines(shell("ip -o link show master " + bridge).output)) {
    if (line.find("master " + bridge) != std::string::npos) ports.push_back(line);
  }
  EXPECT_EQ(ports.size(), 2u) << ::testing::PrintToString(ports);
  const auto plan = make_plan(parse_tosca_template(two_hosts_template(), {}), prefix_, "two-hosts");
  EXPECT_EQ(plan.namespaces[0].name, ns_a);

  // The two computes reach each other through the bridge.
  if (const auto ping = ping_binary()) {
    const auto result = shell("ip netns exec " + ns_a + " " + *ping + " -c1 -W1 10.10.0.12");
    EXPECT_EQ(result.status, 0) << result.output;
    const auto back = shell("ip netns exec " + ns_b + " " + *ping + " -c1 -W1 10.10.0.11");
    EXPECT_EQ(back.status, 0) << back.output;
  }
  EXPECT_TRUE(tcp_reachable(ns_a, ns_b, "10.10.0.12"));
  EXPECT_TRUE(tcp_reachable(ns_b, ns_a, "10.10.0.11"));

  const auto found =
      driver.find_infrastructure({two_hosts_template(), "TOSCA", "two-hosts", {}}, context_);
  ASSERT_TRUE(found.result);
  EXPECT_EQ(found.result->infrastructure_id, created.infrastructure_id);
  EXPECT_EQ(found.result->outputs, task.outputs);

  const auto deleted = driver.delete_infrastructure(created.infrastructure_id, {}, context_);
  const auto delete_task = wait_terminal(driver, deleted);
  EXPECT_EQ(delete_task.status, ExecutionStatus::complete)
      << (delete_task.failure_details ? delete_task.failure_details->description : "");
  EXPECT_THAT(leftovers(), IsEmpty());
  EXPECT_FALSE(
      driver.find_infrastructure({two_hosts_template(), "TOSCA", "two-hosts", {}}, context_)
          .result);
}

TEST_F(NetnsIntegrationTest, ExistingNameEndsWithResourceAlreadyExists) {
  NetnsDriver driver(options());
  ASSERT_EQ(wait_terminal(driver, create(driver, "dup")).status, ExecutionStatus::complete);
  const auto before = leftovers();
  const auto task = wait_terminal(driver, create(driver, "dup"));
  ASSERT_EQ(task.status, ExecutionStatus::failed);
  EXPECT_EQ(task.failure_details->code, FailureCode::resource_already_exists);
  EXPECT_EQ(leftovers(), before);
}

TEST_F(NetnsIntegrationTest, CapacityEndsWithInsufficientCapacity) {
  NetnsDriver driver(options(nullptr, 3));
  ASSERT_EQ(wait_terminal(driver, create(driver, "one")).status, ExecutionStatus::complete);
  const auto before = leftovers();
  const auto task = wait_terminal(driver, create(driver, "two"));
  ASSERT_EQ(task.status, ExecutionStatus::failed);
  EXPECT_EQ(task.failure_details->code, FailureCode::insufficient_capacity);
  EXPECT_EQ(leftovers(), before);
}

TEST_F(NetnsIntegrationTest, FailingCommandLeavesNothingBehind) {
  const auto kernel = wrapped_kernel();
  kernel->fail_commands_containing("addr add 10.10.0.12/24");  // the last port's address
  NetnsDriver driver(options(kernel));
  const auto task = wait_terminal(driver, create(driver, "broken"));
  ASSERT_EQ(task.status, ExecutionStatus::failed);
  EXPECT_EQ(task.failure_details->code, FailureCode::infrastructure_error);
  EXPECT_THAT(task.failure_details->description, HasSubstr("addr add 10.10.0.12/24 dev eth0`"));
  EXPECT_THAT(task.failure_details->description, HasSubstr("injected failure"));
  EXPECT_THAT(leftovers(), IsEmpty());
}

TEST_F(NetnsIntegrationTest, RealKernelErrorIsReportedWithItsStderr) {
  // A compute whose veth peer cannot be created: the namespace is removed by
  // a hook right before the veth is added, so iproute2 itself fails.
  const auto kernel = wrapped_kernel();
  NetnsDriver::Options o = options(kernel);
  const auto plan = make_plan(parse_tosca_template(two_hosts_template(), {}), prefix_, "racy");
  kernel->close_gate_at(7);  // 2 namespaces x 2 + bridge x 2 = 6; 7 adds the first veth
  NetnsDriver driver(o);
  const auto created = create(driver, "racy");
  ASSERT_TRUE(kernel->wait_gate_reached());
  shell("ip netns del " + plan.namespaces[0].name);
  kernel->open_gate();
  const auto task = wait_terminal(driver, created);
  ASSERT_EQ(task.status, ExecutionStatus::failed);
  EXPECT_EQ(task.failure_details->code, FailureCode::infrastructure_error);
  EXPECT_THAT(task.failure_details->description,
              HasSubstr("`ip link add " + plan.veths[0].host_name +
                        " type veth peer name eth0 "
                        "netns " +
                        plan.namespaces[0].name + "` failed (exit "));
  EXPECT_THAT(leftovers(), IsEmpty());
}

TEST_F(NetnsIntegrationTest, RestartInTheMiddleOfACreateLeavesNothingHalfBuilt) {
  const auto kernel = wrapped_kernel();
  kernel->close_gate_at(8);  // in the middle of the first port
  sdk::InfrastructureTaskAccepted created;
  {
    std::jthread opener;  // joined after the driver is destroyed
    NetnsDriver driver(options(kernel));
    created = create(driver, "restart");
    ASSERT_TRUE(kernel->wait_gate_reached());
    opener = std::jthread([&] {
      std::this_thread::sleep_for(200ms);
      kernel->open_gate();
    });
  }
  EXPECT_FALSE(leftovers().empty());  // half-built, as after a crash
  NetnsDriver driver(options());
  const auto task = wait_terminal(driver, created);
  ASSERT_EQ(task.status, ExecutionStatus::failed);
  EXPECT_EQ(task.failure_details->code, FailureCode::infrastructure_error);
  EXPECT_THAT(task.failure_details->description, HasSubstr("interrupted by a restart"));
  EXPECT_THAT(leftovers(), IsEmpty());
  // And the name can be built again.
  EXPECT_EQ(wait_terminal(driver, create(driver, "restart")).status, ExecutionStatus::complete);
}

}  // namespace
}  // namespace flint::drivers::netns
