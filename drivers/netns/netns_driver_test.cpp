// The task state machine of the netns driver against a simulated kernel: no
// root needed. netns_integration_test.cpp runs the real thing.

#include "netns/netns_driver.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <flint/sdk/errors.hpp>

#include "netns/plan.hpp"
#include "netns/test_support.hpp"

namespace flint::drivers::netns {
namespace {

namespace fs = std::filesystem;
using sdk::ExecutionStatus;
using sdk::FailureCode;
using ::testing::Contains;
using testing::create_request;
using testing::FakeContext;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::TempDir;
using testing::TestKernel;
using testing::two_hosts_template;
using testing::wait_terminal;
using namespace std::chrono_literals;

class NetnsDriverTest : public ::testing::Test {
 protected:
  NetnsDriver::Options options(std::size_t max_computes = 64) {
    NetnsDriver::Options o;
    o.state_dir = dir_.path() / "state";
    o.max_computes = max_computes;
    o.prefix = "tst";
    o.command_timeout = 5s;
    o.kernel = kernel_;
    return o;
  }
  Plan plan_of(const std::string& instance) {
    return make_plan(parse_tosca_template(two_hosts_template(), {}), "tst", instance);
  }
  sdk::InfrastructureTaskAccepted create(NetnsDriver& driver, const std::string& name) {
    return driver.create_infrastructure(create_request(two_hosts_template(), name), context_);
  }

  TempDir dir_;
  std::shared_ptr<TestKernel> kernel_ = std::make_shared<TestKernel>();
  FakeContext context_;
};

TEST_F(NetnsDriverTest, CreateBuildsEverythingAndCompletesWithOutputs) {
  NetnsDriver driver(options());
  const auto accepted = create(driver, "web");
  EXPECT_FALSE(accepted.infrastructure_id.empty());
  EXPECT_FALSE(accepted.request_id.empty());
  EXPECT_TRUE(fs::exists(dir_.path() / "state" / "tasks" / (accepted.request_id + ".json")));

  const auto task = wait_terminal(driver, accepted);
  ASSERT_EQ(task.status, ExecutionStatus::complete)
      << (task.failure_details ? task.failure_details->description : "");
  EXPECT_EQ(task.infrastructure_id, accepted.infrastructure_id);
  EXPECT_EQ(task.request_id, accepted.request_id);
  const auto plan = plan_of("web");
  EXPECT_EQ(task.outputs.at("address_a"), "10.10.0.11");
  EXPECT_EQ(task.outputs.at("address_b"), "10.10.0.12");
  EXPECT_EQ(task.outputs.at("namespace_a"), boost::json::value(plan.namespaces[0].name));
  EXPECT_EQ(task.outputs.at("bridge"), boost::json::value(plan.bridges[0].name));

  EXPECT_EQ(kernel_->namespaces(),
            (std::set<std::string>{plan.namespaces[0].name, plan.namespaces[1].name}));
  EXPECT_EQ(kernel_->links(), (std::set<std::string>{plan.bridges[0].name, plan.veths[0].host_name,
                                                     plan.veths[1].host_name}));
  const auto& ns = plan.namespaces[0].name;
  const auto& veth = plan.veths[0].host_name;
  const auto commands = kernel_->commands();
  EXPECT_THAT(commands, Contains("ip netns add " + ns));
  EXPECT_THAT(commands, Contains("ip -n " + ns + " link set lo up"));
  EXPECT_THAT(commands, Contains("ip link add " + plan.bridges[0].name + " type bridge"));
  EXPECT_THAT(commands, Contains("ip link add " + veth + " type veth peer name eth0 netns " + ns));
  EXPECT_THAT(commands, Contains("ip link set " + veth + " master " + plan.bridges[0].name));
  EXPECT_THAT(commands, Contains("ip -n " + ns + " addr add 10.10.0.11/24 dev eth0"));
  EXPECT_THAT(commands, Contains("ip -n " + ns + " link set eth0 up"));
}

TEST_F(NetnsDriverTest, InvalidRequestsAreRejectedSynchronously) {
  NetnsDriver driver(options());
  auto bad = create_request(
      "tosca_definitions_version: tosca_simple_yaml_1_3\n"
      "topology_template:\n  node_templates:\n"
      "    web: {type: tosca.nodes.Database}\n",
      "web");
  try {
    driver.create_infrastructure(bad, context_);
    FAIL();
  } catch (const sdk::InvalidTemplateError& e) {
    EXPECT_THAT(e.what(), HasSubstr("topology_template.node_templates.web: unsupported type "
                                    "'tosca.nodes.Database'"));
  }
  auto heat = create_request(two_hosts_template(), "web");
  heat.template_type = "HEAT";
  EXPECT_THROW(driver.create_infrastructure(heat, context_), sdk::InvalidTemplateError);
  auto unnamed = create_request(two_hosts_template(), "web");
  unnamed.system_properties = {};
  EXPECT_THROW(driver.create_infrastructure(unnamed, context_), sdk::InvalidRequestError);
  EXPECT_TRUE(fs::is_empty(dir_.path() / "state" / "tasks"));
  EXPECT_THAT(kernel_->commands(), IsEmpty());

  // Names a find could not take as `instanceName`.
  for (const std::string& name : {std::string("new\nline"), std::string(1025, 'n')}) {
    try {
      driver.create_infrastructure(create_request(two_hosts_template(), name), context_);
      FAIL() << name;
    } catch (const sdk::InvalidRequestError& e) {
      EXPECT_THAT(e.what(), HasSubstr("systemProperties.resourceName: "));
    }
  }

  auto by_id = create_request(two_hosts_template(), "ignored");
  by_id.system_properties.erase("resourceName");
  const auto accepted = driver.create_infrastructure(by_id, context_);
  ASSERT_EQ(wait_terminal(driver, accepted).status, ExecutionStatus::complete);
  const auto found =
      driver.find_infrastructure({two_hosts_template(), "tosca", "ignored-id", {}}, context_);
  ASSERT_TRUE(found.result);
  EXPECT_EQ(found.result->infrastructure_id, accepted.infrastructure_id);
}

TEST_F(NetnsDriverTest, ExistingInstanceNameEndsWithResourceAlreadyExists) {
  NetnsDriver driver(options());
  const auto first = create(driver, "web");
  const auto second = create(driver, "web");  // while the first is still building, or after
  EXPECT_NE(second.infrastructure_id, first.infrastructure_id);
  ASSERT_EQ(wait_terminal(driver, first).status, ExecutionStatus::complete);
  const auto task = wait_terminal(driver, second);
  ASSERT_EQ(task.status, ExecutionStatus::failed);
  EXPECT_EQ(task.failure_details->code, FailureCode::resource_already_exists);
  EXPECT_THAT(task.failure_details->description, HasSubstr("'web' already exists"));

  // Deleting the failed duplicate must not touch the original.
  const auto removed = driver.delete_infrastructure(second.infrastructure_id, {}, context_);
  EXPECT_EQ(wait_terminal(driver, removed).status, ExecutionStatus::complete);
  EXPECT_EQ(kernel_->namespaces().size(), 2u);
  EXPECT_TRUE(
      driver.find_infrastructure({two_hosts_template(), "TOSCA", "web", {}}, context_).result);
}

TEST_F(NetnsDriverTest, KernelObjectWithAPlannedNameEndsWithResourceAlreadyExists) {
  NetnsDriver driver(options());
  kernel_->add_namespace(plan_of("web").namespaces[1].name);
  const auto task = wait_terminal(driver, create(driver, "web"));
  ASSERT_EQ(task.status, ExecutionStatus::failed);
  EXPECT_EQ(task.failure_details->code, FailureCode::resource_already_exists);
  EXPECT_THAT(task.failure_details->description,
              HasSubstr("network namespace '" + plan_of("web").namespaces[1].name +
                        "' (node 'host_b') already exists"));
  EXPECT_THAT(kernel_->commands(), IsEmpty());
  EXPECT_EQ(kernel_->namespaces().size(), 1u);  // the foreign one is left alone
}

TEST_F(NetnsDriverTest, CapacityIsCountedInNamespaces) {
  NetnsDriver driver(options(3));
  const auto first = create(driver, "one");
  ASSERT_EQ(wait_terminal(driver, first).status, ExecutionStatus::complete);
  const auto task = wait_terminal(driver, create(driver, "two"));
  ASSERT_EQ(task.status, ExecutionStatus::failed);
  EXPECT_EQ(task.failure_details->code, FailureCode::insufficient_capacity);
  EXPECT_THAT(task.failure_details->description,
              HasSubstr("needs 2 network namespace(s) but only 1 of max_computes=3 are free"));
  EXPECT_EQ(kernel_->namespaces().size(), 2u);

  ASSERT_EQ(
      wait_terminal(driver, driver.delete_infrastructure(first.infrastructure_id, {}, context_))
          .status,
      ExecutionStatus::complete);
  EXPECT_EQ(wait_terminal(driver, create(driver, "two")).status, ExecutionStatus::complete);
}

TEST_F(NetnsDriverTest, FailingCommandRollsBackEverythingTheTaskBuilt) {
  NetnsDriver driver(options());
  kernel_->fail_commands_containing("addr add 10.10.0.12/24");
  const auto task = wait_terminal(driver, create(driver, "web"));
  ASSERT_EQ(task.status, ExecutionStatus::failed);
  EXPECT_EQ(task.failure_details->code, FailureCode::infrastructure_error);
  EXPECT_THAT(task.failure_details->description,
              HasSubstr("`ip -n " + plan_of("web").namespaces[1].name +
                        " addr add 10.10.0.12/24 dev eth0` failed (exit 2): RTNETLINK answers: "
                        "injected failure"));
  EXPECT_THAT(task.failure_details->description,
              HasSubstr("everything the task had built was removed"));
  EXPECT_THAT(kernel_->namespaces(), IsEmpty());
  EXPECT_THAT(kernel_->links(), IsEmpty());

  // The name is free again.
  kernel_->fail_commands_containing("");
  EXPECT_EQ(wait_terminal(driver, create(driver, "web")).status, ExecutionStatus::complete);
}

TEST_F(NetnsDriverTest, DeleteRemovesEverythingThenTheIdIsGone) {
  NetnsDriver driver(options());
  const auto created = create(driver, "web");
  ASSERT_EQ(wait_terminal(driver, created).status, ExecutionStatus::complete);
  const auto deleted = driver.delete_infrastructure(created.infrastructure_id, {}, context_);
  EXPECT_EQ(deleted.infrastructure_id, created.infrastructure_id);
  EXPECT_NE(deleted.request_id, created.request_id);
  const auto task = wait_terminal(driver, deleted);
  EXPECT_EQ(task.status, ExecutionStatus::complete);
  EXPECT_TRUE(task.outputs.empty());
  EXPECT_THAT(kernel_->namespaces(), IsEmpty());
  EXPECT_THAT(kernel_->links(), IsEmpty());

  // Old tasks still answer; the infrastructure cannot be deleted twice.
  EXPECT_EQ(wait_terminal(driver, created).status, ExecutionStatus::complete);
  EXPECT_THROW(driver.delete_infrastructure(created.infrastructure_id, {}, context_),
               sdk::InfrastructureNotFoundError);
  EXPECT_THROW(driver.delete_infrastructure("nope", {}, context_),
               sdk::InfrastructureNotFoundError);
  EXPECT_THROW(driver.get_infrastructure_task("nope", created.request_id, {}, context_),
               sdk::InfrastructureNotFoundError);
  EXPECT_THROW(driver.get_infrastructure_task(created.infrastructure_id, "nope", {}, context_),
               sdk::RequestNotFoundError);
  const auto other = create(driver, "other");
  EXPECT_THROW(
      driver.get_infrastructure_task(created.infrastructure_id, other.request_id, {}, context_),
      sdk::RequestNotFoundError);
  EXPECT_FALSE(
      driver.find_infrastructure({two_hosts_template(), "TOSCA", "web", {}}, context_).result);
}

TEST_F(NetnsDriverTest, DeleteRightAfterCreateRunsAfterIt) {
  NetnsDriver driver(options());
  const auto created = create(driver, "web");
  const auto deleted = driver.delete_infrastructure(created.infrastructure_id, {}, context_);
  EXPECT_EQ(wait_terminal(driver, deleted).status, ExecutionStatus::complete);
  EXPECT_EQ(wait_terminal(driver, created).status, ExecutionStatus::complete);
  EXPECT_THAT(kernel_->namespaces(), IsEmpty());
  EXPECT_THAT(kernel_->links(), IsEmpty());
}

TEST_F(NetnsDriverTest, FindReturnsOutputsOfTheFindTemplate) {
  NetnsDriver driver(options());
  const std::string find_template =
      "tosca_definitions_version: tosca_simple_yaml_1_3\n"
      "topology_template:\n"
      "  inputs:\n"
      "    address: {type: string}\n"
      "  node_templates:\n"
      "    lan: {type: tosca.nodes.network.Network, properties: {cidr: 10.10.0.0/24}}\n"
      "    host_a: {type: tosca.nodes.Compute}\n"
      "    port_a: {type: tosca.nodes.network.Port, properties: {ip_address: {get_input: "
      "address}},\n"
      "             requirements: [{binding: host_a}, {link: lan}]}\n"
      "  outputs:\n"
      "    where: {value: {get_attribute: [port_a, ip_address]}}\n"
      "    cidr: {value: {get_attribute: [lan, cidr]}}\n";
  EXPECT_FALSE(driver.find_infrastructure({find_template, "TOSCA", "web", {}}, context_).result);
  const auto created = create(driver, "web");
  ASSERT_EQ(wait_terminal(driver, created).status, ExecutionStatus::complete);

  const auto found = driver.find_infrastructure({find_template, "TOSCA", "web", {}}, context_);
  ASSERT_TRUE(found.result);
  EXPECT_EQ(found.result->infrastructure_id, created.infrastructure_id);
  EXPECT_EQ(found.result->outputs,
            (boost::json::object{{"where", "10.10.0.11"}, {"cidr", "10.10.0.0/24"}}));
  EXPECT_FALSE(driver.find_infrastructure({find_template, "TOSCA", "other", {}}, context_).result);
  EXPECT_THROW(driver.find_infrastructure({find_template, "HEAT", "web", {}}, context_),
               sdk::InvalidTemplateError);
  EXPECT_THROW(driver.find_infrastructure({"{", "TOSCA", "web", {}}, context_),
               sdk::InvalidTemplateError);
  // A node the infrastructure does not have: not a match.
  std::string with_db = find_template;
  with_db.insert(with_db.find("  outputs:"), "    db: {type: tosca.nodes.Compute}\n");
  EXPECT_FALSE(driver.find_infrastructure({with_db, "TOSCA", "web", {}}, context_).result);
  // A namespace gone behind the driver's back: not found.
  kernel_->ip({"netns", "del", plan_of("web").namespaces[0].name});
  EXPECT_FALSE(driver.find_infrastructure({find_template, "TOSCA", "web", {}}, context_).result);
}

TEST_F(NetnsDriverTest, FindGivesTheInputValuesTheCreateUsed) {
  const std::string text =
      "tosca_definitions_version: tosca_simple_yaml_1_3\n"
      "topology_template:\n"
      "  inputs:\n"
      "    n: {type: integer, default: 5}\n"
      "    label: {type: string}\n"
      "  node_templates:\n"
      "    host_a: {type: tosca.nodes.Compute}\n"
      "  outputs:\n"
      "    n: {value: {get_input: n}}\n"
      "    label: {value: {get_input: label}}\n";
  auto request = create_request(text, "web");
  request.properties.set("n", sdk::Property::integer(7));
  request.properties.set("label", sdk::Property::string("blue"));
  {
    NetnsDriver driver(options());
    const auto created = driver.create_infrastructure(request, context_);
    const auto done = wait_terminal(driver, created);
    ASSERT_EQ(done.status, ExecutionStatus::complete);
    EXPECT_EQ(done.outputs, (boost::json::object{{"n", 7}, {"label", "blue"}}));
  }
  NetnsDriver restarted(options());  // from the state files
  const auto found = restarted.find_infrastructure({text, "TOSCA", "web", {}}, context_);
  ASSERT_TRUE(found.result);
  EXPECT_EQ(found.result->outputs, (boost::json::object{{"n", 7}, {"label", "blue"}}));
}

TEST_F(NetnsDriverTest, TasksSurviveARestart) {
  sdk::InfrastructureTaskAccepted created;
  {
    NetnsDriver driver(options());
    created = create(driver, "web");
    ASSERT_EQ(wait_terminal(driver, created).status, ExecutionStatus::complete);
  }
  NetnsDriver driver(options());
  const auto task = wait_terminal(driver, created);
  EXPECT_EQ(task.status, ExecutionStatus::complete);
  EXPECT_EQ(task.outputs.at("address_a"), "10.10.0.11");
  EXPECT_TRUE(
      driver.find_infrastructure({two_hosts_template(), "TOSCA", "web", {}}, context_).result);
  // Still counted as existing.
  const auto again = wait_terminal(driver, create(driver, "web"));
  EXPECT_EQ(again.failure_details->code, FailureCode::resource_already_exists);
}

TEST_F(NetnsDriverTest, CreateInterruptedByARestartIsRolledBackAndFails) {
  kernel_->close_gate_at(5);  // in the middle of the build
  sdk::InfrastructureTaskAccepted created;
  {
    std::jthread opener;  // joined after the driver is destroyed
    NetnsDriver driver(options());
    created = create(driver, "web");
    ASSERT_TRUE(kernel_->wait_gate_reached());
    // Opened once the destructor below waits for the held command, however
    // slowly this thread gets there.
    opener = std::jthread([&] {
      std::this_thread::sleep_for(500ms);
      kernel_->open_gate();
    });
    // The destructor stops the worker after the held command.
  }
  EXPECT_FALSE(kernel_->namespaces().empty());  // half-built
  NetnsDriver driver(options());
  const auto task = wait_terminal(driver, created);
  ASSERT_EQ(task.status, ExecutionStatus::failed);
  EXPECT_EQ(task.failure_details->code, FailureCode::infrastructure_error);
  EXPECT_THAT(task.failure_details->description, HasSubstr("interrupted by a restart"));
  EXPECT_THAT(kernel_->namespaces(), IsEmpty());
  EXPECT_THAT(kernel_->links(), IsEmpty());
  EXPECT_EQ(wait_terminal(driver, create(driver, "web")).status, ExecutionStatus::complete);
}

TEST_F(NetnsDriverTest, DeleteInterruptedByARestartIsFinished) {
  sdk::InfrastructureTaskAccepted deleted;
  {
    std::jthread opener;  // joined after the driver is destroyed
    NetnsDriver driver(options());
    const auto created = create(driver, "web");
    ASSERT_EQ(wait_terminal(driver, created).status, ExecutionStatus::complete);
    kernel_->close_gate_at(kernel_->commands().size() + 1);  // the first deletion
    deleted = driver.delete_infrastructure(created.infrastructure_id, {}, context_);
    ASSERT_TRUE(kernel_->wait_gate_reached());
    // Opened once the destructor below waits for the held command, however
    // slowly this thread gets there.
    opener = std::jthread([&] {
      std::this_thread::sleep_for(500ms);
      kernel_->open_gate();
    });
  }
  EXPECT_FALSE(kernel_->namespaces().empty());
  NetnsDriver driver(options());
  EXPECT_EQ(wait_terminal(driver, deleted).status, ExecutionStatus::complete);
  EXPECT_THAT(kernel_->namespaces(), IsEmpty());
  EXPECT_THAT(kernel_->links(), IsEmpty());
}

TEST_F(NetnsDriverTest, BadOptionsAreRejected) {
  auto o = options();
  o.prefix = "much-too-long";
  EXPECT_THROW(NetnsDriver{o}, std::invalid_argument);
  o = options();
  o.state_dir.clear();
  EXPECT_THROW(NetnsDriver{o}, std::invalid_argument);
}

}  // namespace
}  // namespace flint::drivers::netns
