#include "netns/state_store.hpp"

#include <fstream>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "netns/test_support.hpp"

namespace flint::drivers::netns {
namespace {

namespace fs = std::filesystem;

TEST(StateStore, RoundTripsRecordsAndDropsTemporaryFiles) {
  testing::TempDir dir;
  const StateStore store(dir.path() / "state");
  EXPECT_TRUE(fs::is_directory(store.scratch_directory()));
  EXPECT_EQ(fs::status(dir.path() / "state" / "tasks").permissions(), fs::perms::owner_all);

  InfrastructureRecord infra;
  infra.infrastructure_id = "infra-1";
  infra.instance_name = "web";
  infra.computes = 2;
  infra.plan = make_plan(parse_tosca_template(testing::two_hosts_template(), {}), "fl", "web");
  infra.outputs = {{"a", "10.10.0.11"}};
  infra.inputs = {{"n", 7}};
  store.save(infra);

  TaskRecord task;
  task.request_id = "req-1";
  task.infrastructure_id = "infra-1";
  task.operation = Operation::remove;
  task.sequence = 1;
  task.status = sdk::ExecutionStatus::failed;
  task.failure = sdk::FailureDetails{sdk::FailureCode::resource_already_exists, "taken"};
  task.holds_resources = true;
  task.created_namespaces = {"ns1"};
  task.created_links = {"l1", "l2"};
  store.save(task);
  TaskRecord other;
  other.request_id = "req-2";
  other.infrastructure_id = "infra-1";
  store.save(other);

  std::ofstream(dir.path() / "state" / "tasks" / "req-3.json.123-4.tmp") << "{";
  const auto infras = store.load_infrastructures();
  ASSERT_EQ(infras.size(), 1u);
  EXPECT_EQ(infras[0], infra);
  auto tasks = store.load_tasks();
  ASSERT_EQ(tasks.size(), 2u);
  if (tasks[0].request_id != "req-1") std::swap(tasks[0], tasks[1]);
  EXPECT_EQ(tasks[0], task);
  EXPECT_EQ(tasks[1], other);
  EXPECT_FALSE(fs::exists(dir.path() / "state" / "tasks" / "req-3.json.123-4.tmp"));

  store.remove_infrastructure("infra-1");
  EXPECT_TRUE(store.load_infrastructures().empty());
}

TEST(StateStore, ReadsRecordsWithoutInputsAsOlderBuildsWroteThem) {
  testing::TempDir dir;
  const StateStore store(dir.path() / "state");
  InfrastructureRecord infra;
  infra.infrastructure_id = "infra-1";
  infra.instance_name = "web";
  infra.plan = make_plan(parse_tosca_template(testing::two_hosts_template(), {}), "fl", "web");
  store.save(infra);
  const auto file = dir.path() / "state" / "infrastructures" / "infra-1.json";
  auto json = boost::json::parse(testing::read_text(file)).as_object();
  ASSERT_EQ(json.erase("inputs"), 1u);
  std::ofstream(file, std::ios::trunc) << boost::json::serialize(json);
  const auto infras = store.load_infrastructures();
  ASSERT_EQ(infras.size(), 1u);
  EXPECT_EQ(infras[0], infra);
}

TEST(StateStore, ItsDirectoryIsTheOwnersAloneWhateverTheUmask) {
  testing::TempDir dir;
  const mode_t before = ::umask(0);
  const StateStore store(dir.path() / "state");
  ::umask(before);
  EXPECT_EQ(fs::status(dir.path() / "state").permissions(), fs::perms::owner_all);
}

TEST(StateStore, CorruptRecordIsAnErrorNamingTheFile) {
  testing::TempDir dir;
  const StateStore store(dir.path());
  std::ofstream(dir.path() / "tasks" / "bad.json") << "{\"requestId\": 3}";
  try {
    store.load_tasks();
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("corrupt state file"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("bad.json"));
  }
}

}  // namespace
}  // namespace flint::drivers::netns
