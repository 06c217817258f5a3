#pragma once

/// @file
/// Durable state of the `netns` driver: one JSON file per infrastructure and
/// one per task, each written atomically (temporary file, fsync, rename).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include <flint/sdk/lifecycle.hpp>

#include "netns/plan.hpp"

namespace flint::drivers::netns {

/// What a task does.
enum class Operation {
  create,  ///< Build the infrastructure.
  remove,  ///< Delete it.
};

/// One create or delete task (`tasks/<request id>.json`).
///
/// The task records are the only thing that changes: the state of an
/// infrastructure is derived from its tasks (see `NetnsDriver`).
struct TaskRecord {
  /// The request id returned to the caller.
  std::string request_id;
  /// The infrastructure it works on.
  std::string infrastructure_id;
  /// Create or delete.
  Operation operation = Operation::create;
  /// Position among the tasks of its infrastructure (0 = the create).
  std::uint64_t sequence = 0;
  /// Current status.
  sdk::ExecutionStatus status = sdk::ExecutionStatus::in_progress;
  /// Set when `status` is failed.
  std::optional<sdk::FailureDetails> failure;
  /// Once terminal: whether something of the infrastructure may still exist
  /// in the kernel after this task (true after a successful create or a
  /// failed delete, or when a rollback left something behind).
  bool holds_resources = false;
  /// Journal of a create: namespaces it was about to create, in order (each is
  /// recorded before its `ip netns add`).
  std::vector<std::string> created_namespaces;
  /// Journal of a create: interfaces (bridges, host veth ends) likewise.
  std::vector<std::string> created_links;

  /// Field-by-field equality.
  bool operator==(const TaskRecord&) const = default;
};

/// One infrastructure (`infrastructures/<id>.json`), written once when its
/// create is accepted and never changed.
struct InfrastructureRecord {
  /// Its id.
  std::string infrastructure_id;
  /// The instance name it was created under.
  std::string instance_name;
  /// Number of namespaces it needs (its capacity use).
  std::size_t computes = 0;
  /// System names and node attributes.
  Plan plan;
  /// Output values of the create template.
  boost::json::object outputs;
  /// The values its outputs took from inputs (`get_input`), by input name:
  /// a find template's outputs of the same inputs give them back.
  boost::json::object inputs;

  /// Field-by-field equality.
  bool operator==(const InfrastructureRecord&) const = default;
};

/// The state directory: `infrastructures/`, `tasks/` and `scratch/` (output
/// files of running commands).
///
/// Writes of different records may run concurrently; one record is written by
/// one thread at a time (the driver's lock).
class StateStore {
 public:
  /// Creates the directories (mode 0700) when missing.
  /// @throws std::filesystem::filesystem_error when that fails.
  explicit StateStore(std::filesystem::path directory);

  /// Writes an infrastructure record atomically.
  /// @throws std::runtime_error naming the file.
  void save(const InfrastructureRecord& record) const;
  /// Writes a task record atomically.
  /// @throws std::runtime_error naming the file.
  void save(const TaskRecord& record) const;
  /// Removes an infrastructure record (errors ignored).
  void remove_infrastructure(const std::string& infrastructure_id) const noexcept;

  /// Every infrastructure record. Removes leftover temporary files.
  /// @throws std::runtime_error naming a file that does not parse.
  std::vector<InfrastructureRecord> load_infrastructures() const;
  /// Every task record. Removes leftover temporary files.
  /// @throws std::runtime_error naming a file that does not parse.
  std::vector<TaskRecord> load_tasks() const;

  /// The directory for command output files.
  std::filesystem::path scratch_directory() const { return directory_ / "scratch"; }

 private:
  std::filesystem::path directory_;
};

}  // namespace flint::drivers::netns
