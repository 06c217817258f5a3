#include <flint/sdk/topology.hpp>

namespace flint::sdk {

void AssociatedTopology::add(std::string name, TopologyEntry entry) {
  put(std::move(name), std::move(entry));
}

void AssociatedTopology::remove(std::string name) {
  put(std::move(name), std::nullopt);
}

const std::optional<TopologyEntry>* AssociatedTopology::find(std::string_view name) const noexcept {
  for (const auto& entry : entries_) {
    if (entry.first == name) return &entry.second;
  }
  return nullptr;
}

void AssociatedTopology::put(std::string name, std::optional<TopologyEntry> entry) {
  // Linear: topologies hold a handful of entries, and replacing in place keeps
  // the first-seen order that the wire shows.
  for (auto& existing : entries_) {
    if (existing.first == name) {
      existing.second = std::move(entry);
      return;
    }
  }
  entries_.emplace_back(std::move(name), std::move(entry));
}

}  // namespace flint::sdk
