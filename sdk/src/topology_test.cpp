#include <gtest/gtest.h>

#include <flint/sdk/topology.hpp>

namespace flint::sdk {
namespace {

TEST(AssociatedTopology, AddRemoveFindKeepOrder) {
  AssociatedTopology topology;
  EXPECT_TRUE(topology.empty());
  topology.add("vm2", {"id2", "Openstack"});
  topology.add("vm1", {"id1", "Openstack"});
  topology.remove("net");
  topology.add("vm2", {"id2b", "Openstack"});  // replaced in place

  ASSERT_EQ(topology.size(), 3u);
  std::vector<std::string> names;
  for (const auto& [name, entry] : topology) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"vm2", "vm1", "net"}));

  const auto* vm2 = topology.find("vm2");
  ASSERT_NE(vm2, nullptr);
  ASSERT_TRUE(vm2->has_value());
  EXPECT_EQ((*vm2)->id, "id2b");

  const auto* net = topology.find("net");
  ASSERT_NE(net, nullptr);
  EXPECT_FALSE(net->has_value());

  EXPECT_EQ(topology.find("absent"), nullptr);
}

TEST(AssociatedTopology, RemoveReplacesAnEntry) {
  AssociatedTopology topology;
  topology.add("vm", {"id", "t"});
  topology.remove("vm");
  ASSERT_EQ(topology.size(), 1u);
  EXPECT_FALSE(topology.find("vm")->has_value());
}

TEST(AssociatedTopology, EqualityIsOrderSensitive) {
  AssociatedTopology a;
  a.add("x", {"1", "t"});
  a.add("y", {"2", "t"});
  AssociatedTopology b;
  b.add("y", {"2", "t"});
  b.add("x", {"1", "t"});
  EXPECT_NE(a, b);
  AssociatedTopology c = a;
  EXPECT_EQ(a, c);
}

}  // namespace
}  // namespace flint::sdk
