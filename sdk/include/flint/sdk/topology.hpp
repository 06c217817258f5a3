#pragma once

/// @file
/// Associated topology: the third-party resources (VMs, networks...) that a
/// driver created for a resource and reports back to the orchestrator.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flint::sdk {

/// One associated resource: its id in the target system and its type.
struct TopologyEntry {
  /// Identifier of the resource in the target system (`id`).
  std::string id;
  /// Type of the resource, e.g. `Openstack` or `netns` (`type`).
  std::string type;

  /// Field-by-field equality.
  bool operator==(const TopologyEntry&) const = default;
};

namespace detail {
/// Internal, not part of the API: the JSON decoders' access (sdk/src/json.cpp).
struct DecodedAppend;
}  // namespace detail

/// An ordered map of entry name to `TopologyEntry`, where an entry without a
/// value means "remove this entry" (serialized as `null`).
///
/// Removal entries only make sense on output (a 202 reply, an event, a find
/// result); on input every entry has an id and a type. A value-type.
class AssociatedTopology {
 public:
  /// A (name, entry-or-removal) pair.
  using Entry = std::pair<std::string, std::optional<TopologyEntry>>;
  /// Iterator over entries in insertion order.
  using const_iterator = std::vector<Entry>::const_iterator;

  /// An empty topology.
  AssociatedTopology() = default;

  /// Adds or replaces `name` with an entry.
  void add(std::string name, TopologyEntry entry);
  /// Marks `name` for removal (a `null` on the wire).
  void remove(std::string name);
  /// The entry named `name`: null if absent, an empty optional if marked for
  /// removal.
  const std::optional<TopologyEntry>* find(std::string_view name) const noexcept;

  /// Number of entries, removals included.
  std::size_t size() const noexcept { return entries_.size(); }
  /// True when there are no entries.
  bool empty() const noexcept { return entries_.empty(); }
  /// First entry.
  const_iterator begin() const noexcept { return entries_.begin(); }
  /// Past-the-end iterator.
  const_iterator end() const noexcept { return entries_.end(); }

  /// Entry-by-entry equality, order included.
  bool operator==(const AssociatedTopology&) const = default;

 private:
  friend struct detail::DecodedAppend;
  void put(std::string name, std::optional<TopologyEntry> entry);
  std::vector<Entry> entries_;
};

}  // namespace flint::sdk
