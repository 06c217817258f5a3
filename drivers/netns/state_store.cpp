#include "netns/state_store.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <flint/sdk/json.hpp>

#include "files/durable.hpp"

namespace flint::drivers::netns {
namespace {

namespace bj = boost::json;
namespace fs = std::filesystem;

constexpr std::string_view kInfrastructures = "infrastructures";
constexpr std::string_view kTasks = "tasks";
constexpr std::string_view kTemporary = ".tmp";

std::atomic<unsigned long> g_temporary_counter{0};

[[noreturn]] void io_error(const fs::path& path, std::string_view what) {
  throw std::runtime_error("netns driver: cannot " + std::string(what) + " " + path.string() +
                           ": " + std::strerror(errno));
}

void write_atomically(const fs::path& target, const std::string& content) {
  const auto temporary =
      fs::path(target.string() + "." + std::to_string(::getpid()) + "-" +
               std::to_string(g_temporary_counter.fetch_add(1)) + std::string(kTemporary));
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) io_error(temporary, "create");
  std::size_t written = 0;
  while (written < content.size()) {
    const auto n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd);
      ::unlink(temporary.c_str());
      errno = saved;
      io_error(temporary, "write");
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int saved = errno;
    ::close(fd);
    ::unlink(temporary.c_str());
    errno = saved;
    io_error(temporary, "fsync");
  }
  ::close(fd);
  if (::rename(temporary.c_str(), target.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temporary.c_str());
    errno = saved;
    io_error(target, "rename into");
  }
  if (const std::error_code error = files::sync_directory(target.parent_path())) {
    errno = error.value();
    io_error(target.parent_path(), "fsync");
  }
}

bj::array strings(const std::vector<std::string>& items) {
  bj::array out;
  for (const auto& item : items) out.push_back(bj::string(item));
  return out;
}

const bj::value& field(const bj::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  if (!value) throw std::runtime_error("missing '" + std::string(key) + "'");
  return *value;
}

std::string text(const bj::object& object, std::string_view key) {
  const auto& value = field(object, key);
  if (!value.is_string()) throw std::runtime_error("'" + std::string(key) + "' is not a string");
  return std::string(value.get_string());
}

std::vector<std::string> text_list(const bj::object& object, std::string_view key) {
  std::vector<std::string> out;
  const auto* value = object.if_contains(key);
  if (!value) return out;
  for (const auto& item : value->as_array()) out.emplace_back(item.as_string());
  return out;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) io_error(path, "read");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Calls `parse(object)` for every `*.json` of `directory`; removes temporary files.
template <typename Parse>
void for_each_record(const fs::path& directory, Parse parse) {
  for (const auto& entry : fs::directory_iterator(directory)) {
    const auto name = entry.path().filename().string();
    if (name.size() > kTemporary.size() &&
        name.compare(name.size() - kTemporary.size(), kTemporary.size(), kTemporary) == 0) {
      std::error_code ignored;
      fs::remove(entry.path(), ignored);  // a write interrupted before its rename
      continue;
    }
    if (entry.path().extension() != ".json") continue;
    try {
      const auto json = sdk::json::parse_stored(read_file(entry.path()));
      parse(json.as_object());
    } catch (const std::exception& e) {
      throw std::runtime_error("netns driver: corrupt state file " + entry.path().string() + ": " +
                               e.what());
    }
  }
}

}  // namespace

StateStore::StateStore(fs::path directory) : directory_(std::move(directory)) {
  // Owner-only whatever the umask, as what it holds is.
  for (const auto& sub : {fs::path(kInfrastructures), fs::path(kTasks), fs::path("scratch")}) {
    if (const std::error_code error = files::create_private_directory(directory_ / sub)) {
      throw fs::filesystem_error("netns driver: cannot create a state directory", directory_ / sub,
                                 error);
    }
    fs::permissions(directory_ / sub, fs::perms::owner_all, fs::perm_options::replace);
  }
}

void StateStore::save(const InfrastructureRecord& record) const {
  const bj::object json{{"infrastructureId", bj::string(record.infrastructure_id)},
                        {"instanceName", bj::string(record.instance_name)},
                        {"computes", record.computes},
                        {"plan", to_json(record.plan)},
                        {"outputs", record.outputs},
                        {"inputs", record.inputs}};
  write_atomically(directory_ / kInfrastructures / (record.infrastructure_id + ".json"),
                   bj::serialize(json));
}

void StateStore::save(const TaskRecord& record) const {
  bj::object json{{"requestId", bj::string(record.request_id)},
                  {"infrastructureId", bj::string(record.infrastructure_id)},
                  {"operation", record.operation == Operation::create ? "create" : "delete"},
                  {"sequence", record.sequence},
                  {"status", bj::string(sdk::to_string(record.status))},
                  {"holdsResources", record.holds_resources},
                  {"createdNamespaces", strings(record.created_namespaces)},
                  {"createdLinks", strings(record.created_links)}};
  if (record.failure) {
    json["failureDetails"] =
        bj::object{{"failureCode", bj::string(sdk::to_string(record.failure->code))},
                   {"description", bj::string(record.failure->description)}};
  }
  write_atomically(directory_ / kTasks / (record.request_id + ".json"), bj::serialize(json));
}

void StateStore::remove_infrastructure(const std::string& infrastructure_id) const noexcept {
  std::error_code ignored;
  fs::remove(directory_ / kInfrastructures / (infrastructure_id + ".json"), ignored);
}

std::vector<InfrastructureRecord> StateStore::load_infrastructures() const {
  std::vector<InfrastructureRecord> records;
  for_each_record(directory_ / kInfrastructures, [&](const bj::object& json) {
    InfrastructureRecord record;
    record.infrastructure_id = text(json, "infrastructureId");
    record.instance_name = text(json, "instanceName");
    record.computes = static_cast<std::size_t>(field(json, "computes").to_number<std::uint64_t>());
    record.plan = plan_from_json(field(json, "plan"));
    record.outputs = field(json, "outputs").as_object();
    // Absent from the records of older builds.
    if (const auto* inputs = json.if_contains("inputs")) record.inputs = inputs->as_object();
    records.push_back(std::move(record));
  });
  return records;
}

std::vector<TaskRecord> StateStore::load_tasks() const {
  std::vector<TaskRecord> records;
  for_each_record(directory_ / kTasks, [&](const bj::object& json) {
    TaskRecord record;
    record.request_id = text(json, "requestId");
    record.infrastructure_id = text(json, "infrastructureId");
    const auto operation = text(json, "operation");
    if (operation != "create" && operation != "delete") {
      throw std::runtime_error("unknown operation '" + operation + "'");
    }
    record.operation = operation == "create" ? Operation::create : Operation::remove;
    record.sequence = field(json, "sequence").to_number<std::uint64_t>();
    const auto status = sdk::parse_execution_status(text(json, "status"));
    if (!status) throw std::runtime_error("unknown status");
    record.status = *status;
    record.holds_resources = field(json, "holdsResources").as_bool();
    record.created_namespaces = text_list(json, "createdNamespaces");
    record.created_links = text_list(json, "createdLinks");
    if (const auto* failure = json.if_contains("failureDetails")) {
      const auto& details = failure->as_object();
      const auto code = sdk::parse_failure_code(text(details, "failureCode"));
      if (!code) throw std::runtime_error("unknown failure code");
      record.failure = sdk::FailureDetails{*code, text(details, "description")};
    }
    records.push_back(std::move(record));
  });
  return records;
}

}  // namespace flint::drivers::netns
