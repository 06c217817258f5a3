#include "config/host_config.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <functional>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "config/config_error.hpp"
#include "config/kafka_settings.hpp"
#include "config/units.hpp"

namespace flint::config {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// The schema plus, for each key, how to store its value in a HostConfig.
class HostTable {
 public:
  HostTable() { schema_.set_config_file_variable("FLINT_CONFIG"); }

  template <class Access>
  void add(std::string key, OptionSpec spec, Access access) {
    using Field = std::remove_cvref_t<decltype(access(std::declval<HostConfig&>()))>;
    check_binding<Field>(key, spec);
    bindings_.push_back({key, [access](HostConfig& config, const ConfigValue& value) {
                           store(access(config), value);
                         }});
    schema_.add(std::move(key), std::move(spec));
  }

  ConfigSchema& schema() { return schema_; }
  const ConfigSchema& schema() const { return schema_; }

  HostConfig build(const ConfigValues& values) const {
    HostConfig config;
    for (const auto& [key, assign] : bindings_) assign(config, values.value(key));
    config.config_file = values.file();
    return config;
  }

 private:
  struct Binding {
    std::string key;
    std::function<void(HostConfig&, const ConfigValue&)> assign;
  };

  // A field whose C++ type cannot hold every value the option accepts is a
  // schema bug; catch it when the table is built, not at some operator's site.
  template <class Field>
  static void check_binding(const std::string& key, const OptionSpec& spec) {
    const auto mismatch = [&] {
      throw std::logic_error("host configuration: field of key '" + key +
                             "' cannot hold a value of type " + std::string(to_string(spec.type)));
    };
    if constexpr (std::is_same_v<Field, bool>) {
      if (spec.type != OptionType::boolean) mismatch();
    } else if constexpr (std::is_same_v<Field, std::string>) {
      if (spec.type != OptionType::string && spec.type != OptionType::enumeration) mismatch();
    } else if constexpr (std::is_same_v<Field, std::filesystem::path>) {
      if (spec.type != OptionType::string) mismatch();
    } else if constexpr (std::is_same_v<Field, milliseconds>) {
      if (spec.type != OptionType::duration) mismatch();
    } else if constexpr (std::is_same_v<Field, std::vector<std::string>>) {
      if (spec.type != OptionType::string_list) mismatch();
    } else if constexpr (std::is_same_v<Field, StringMap>) {
      if (spec.type != OptionType::string_map) mismatch();
    } else if constexpr (std::is_integral_v<Field>) {
      if (spec.type == OptionType::size) {
        if (!std::is_same_v<Field, std::uint64_t>) mismatch();
        return;
      }
      if (spec.type != OptionType::integer) mismatch();
      const auto min = spec.integer_range.min.value_or(std::numeric_limits<std::int64_t>::min());
      const auto max = spec.integer_range.max.value_or(std::numeric_limits<std::int64_t>::max());
      if (!std::in_range<Field>(min) || !std::in_range<Field>(max)) {
        throw std::logic_error("host configuration: the bounds of key '" + key +
                               "' do not fit its field");
      }
    } else {
      static_assert(!sizeof(Field), "unsupported HostConfig field type");
    }
  }

  template <class Field>
  static void store(Field& field, const ConfigValue& value) {
    if constexpr (std::is_same_v<Field, std::filesystem::path>) {
      field = std::get<std::string>(value);
    } else if constexpr (std::is_integral_v<Field> && !std::is_same_v<Field, bool>) {
      // Bounds were checked against the field type in check_binding.
      if (const auto* bytes = std::get_if<std::uint64_t>(&value)) {
        field = static_cast<Field>(*bytes);
      } else {
        field = static_cast<Field>(std::get<std::int64_t>(value));
      }
    } else {
      field = std::get<Field>(value);
    }
  }

  ConfigSchema schema_;
  std::vector<Binding> bindings_;
};

// The server compares the request path (before any '?') with each entry, byte
// for byte: an entry that cannot be such a path would silently never match.
// The netns driver's own rule (drivers/netns/plan.cpp, validate_prefix),
// checked with the configuration so that a bad prefix stops `flint config`
// and the start like any other value, not the driver's start later.
std::vector<ValueProblem> check_netns_prefix(const ConfigValue& value) {
  const auto* prefix = std::get_if<std::string>(&value);
  if (prefix == nullptr) return {};
  const auto problem = [&](std::string_view why) {
    return std::vector<ValueProblem>{{"", "\"" + *prefix + "\" " + std::string(why)}};
  };
  // Names are <prefix><kind><8 hex digits>: at most 15 characters.
  if (prefix->empty() || prefix->size() > 6) return problem("must be 1 to 6 characters");
  if (prefix->front() < 'a' || prefix->front() > 'z') {
    return problem("must start with a lower-case letter");
  }
  for (const char c : *prefix) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
      return problem("may hold only a-z and 0-9");
    }
  }
  return {};
}

std::vector<ValueProblem> check_no_empty_entry(const ConfigValue& value) {
  std::vector<ValueProblem> problems;
  const auto* entries = std::get_if<std::vector<std::string>>(&value);
  if (entries == nullptr) return problems;
  for (std::size_t i = 0; i < entries->size(); ++i) {
    if ((*entries)[i].empty()) problems.push_back({"[" + std::to_string(i) + "]", "empty"});
  }
  return problems;
}

std::vector<ValueProblem> check_public_paths(const ConfigValue& value) {
  std::vector<ValueProblem> problems;
  const auto* paths = std::get_if<std::vector<std::string>>(&value);
  if (paths == nullptr) return problems;
  for (std::size_t i = 0; i < paths->size(); ++i) {
    const auto& path = (*paths)[i];
    std::string rule;
    if (path.empty() || path.front() != '/') {
      rule = "does not start with '/'";
    } else if (path.find_first_of("*?#") != std::string::npos) {
      rule = "contains '*', '?' or '#'";
    } else {
      continue;
    }
    problems.push_back({"[" + std::to_string(i) + "]",
                        "\"" + path + "\" " + rule +
                            ": a public path is matched exactly against the request path "
                            "(no wildcards, no query)"});
  }
  return problems;
}

// A number of driver threads: an integer in the range of driver_calls.threads.
std::optional<std::size_t> parse_thread_count(std::string_view text) {
  std::size_t threads = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), threads);
  if (error != std::errc() || end != text.data() + text.size() || threads < 1 || threads > 1024) {
    return std::nullopt;
  }
  return threads;
}

std::vector<ValueProblem> check_dedicated_threads(const ConfigValue& value) {
  std::vector<ValueProblem> problems;
  const auto* threads = std::get_if<StringMap>(&value);
  if (threads == nullptr) return problems;
  for (const auto& [driver, text] : *threads) {
    if (!parse_thread_count(text)) {
      problems.push_back({driver, "\"" + text + "\" is not a number of threads from 1 to 1024"});
    }
  }
  return problems;
}

// " (file F, line N)", " (env V)" or " (default)": where a value came from,
// for a cross-check's message.
std::string origin_of(const ConfigValues& values, std::string_view key) {
  const auto& source = values.source(key);
  switch (source.kind) {
    case ValueSource::Kind::file:
      return " (file " + (values.file() ? values.file()->string() : std::string("?")) + ", line " +
             std::to_string(source.line) + ")";
    case ValueSource::Kind::environment:
      return source.line > 0
                 ? " (file " + (values.file() ? values.file()->string() : std::string("?")) +
                       ", line " + std::to_string(source.line) + ", and env " + source.variable +
                       ")"
                 : " (env " + source.variable + ")";
    case ValueSource::Kind::default_value:
      break;
  }
  return " (default)";
}

// Directories Flint creates or fills: one that exists as something else fails
// the start in whichever component touches it first (`.../netns/...`),
// without naming the key. Empty means a default under store.data_dir.
void check_directories(const ConfigValues& values, std::vector<std::string>& errors) {
  for (const std::string_view key :
       {"store.data_dir", "resource_driver.scripts_workspace", "drivers.netns.state_dir",
        "drivers.script.executions_dir", "drivers.noop.state_dir"}) {
    const auto& path = values.get<std::string>(key);
    if (path.empty()) continue;
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);  // follows symbolic links
    std::string problem;
    if (ec.value() == ENOTDIR) {
      problem = "a component of the path is not a directory";
    } else if (std::filesystem::exists(status) && !std::filesystem::is_directory(status)) {
      problem = "it exists and is not a directory";
    } else {
      continue;  // a directory, or missing (created at start), or not for us to judge here
    }
    errors.push_back(std::string(key) + ": '" + path + "' cannot be used: " + problem +
                     origin_of(values, key));
  }
}

// `--config ""` is a mistake, not a request for the defaults.
void refuse_empty_file(const std::optional<std::filesystem::path>& file) {
  if (file && file->empty()) {
    throw ConfigError(
        {"--config: empty path (leave --config out to use FLINT_CONFIG or the defaults)"});
  }
}

// One line per key: the key is the field's path in HostConfig, so the two
// cannot drift apart.
#define FLINT_HOST_OPTION(path, spec) \
  table.add(                          \
      #path, spec, [](HostConfig & c) -> auto& { return c.path; })

HostTable make_table() {
  HostTable table;
  using O = OptionSpec;

  FLINT_HOST_OPTION(application.host, O::string("127.0.0.1", "Address the HTTP server binds to."));
  FLINT_HOST_OPTION(application.port,
                    O::integer(8290, "TCP port of the HTTP server; 0 picks an ephemeral port.",
                               {.min = 0, .max = 65535}));
  FLINT_HOST_OPTION(application.io_threads,
                    O::integer(2, "Threads running the network loop.", {.min = 1, .max = 256}));

  FLINT_HOST_OPTION(http.max_header_size,
                    O::size(16 * KiB,
                            "Largest request line plus headers; a chunked body's chunk lines and "
                            "trailers are held to this plus 64 KiB.",
                            {.min = 1 * KiB}));
  FLINT_HOST_OPTION(http.max_body_size,
                    O::size(64 * MiB, "Largest request body.", {.min = 1 * KiB}));
  FLINT_HOST_OPTION(http.read_timeout,
                    O::duration(seconds(30), "The whole request must arrive within it.",
                                {.min = milliseconds(1)}));
  FLINT_HOST_OPTION(http.idle_timeout,
                    O::duration(seconds(60), "A keep-alive connection idle this long is closed.",
                                {.min = milliseconds(1)}));
  FLINT_HOST_OPTION(http.shutdown_timeout,
                    O::duration(seconds(10), "Grace for in-flight requests on SIGTERM."));
  FLINT_HOST_OPTION(http.max_connections,
                    O::integer(4096,
                               "Open connections at most; more are answered 503 and closed. Each "
                               "takes a file descriptor: keep it 64 plus "
                               "drivers.script.max_concurrent below the limit on open files.",
                               {.min = 1}));
  FLINT_HOST_OPTION(http.tls.cert_file,
                    O::string("", "PEM certificate chain of the listener; empty = plain HTTP."));
  FLINT_HOST_OPTION(http.tls.key_file,
                    O::string("", "PEM private key of that certificate (mode 0600)."));
  FLINT_HOST_OPTION(http.tls.client_ca_file,
                    O::string("",
                              "PEM CA certificates; when set, clients must present a "
                              "certificate they issued (mutual TLS)."));
  FLINT_HOST_OPTION(http.auth.tokens_file,
                    O::string("",
                              "File of the bearer tokens accepted (one per line, mode 0600); "
                              "empty = no authentication."));
  FLINT_HOST_OPTION(http.auth.public_paths,
                    O::string_list({"/management/health"},
                                   "Paths served without a token when tokens_file is set (exact "
                                   "paths starting with /: no wildcards, no query).")
                        .with_validator(check_public_paths));

  FLINT_HOST_OPTION(driver_calls.threads,
                    O::integer(16, "Worker threads running driver code.", {.min = 1, .max = 1024}));
  FLINT_HOST_OPTION(driver_calls.queue_size,
                    O::integer(1024, "Driver calls waiting for a worker at most.", {.min = 1}));
  FLINT_HOST_OPTION(driver_calls.timeout, O::duration(seconds(30), "Deadline of one driver call.",
                                                      {.min = milliseconds(1)}));
  FLINT_HOST_OPTION(driver_calls.dedicated_threads,
                    O::string_map({},
                                  "Drivers with threads of their own: driver name -> threads "
                                  "(1...1024). Their calls run there, each pool with "
                                  "driver_calls.queue_size, so that a driver whose targets hang "
                                  "cannot hold the threads of the others.")
                        .with_validator(check_dedicated_threads));

  FLINT_HOST_OPTION(resource_driver.driver,
                    O::string("script",
                              "Resource driver serving requests no route claims (built-in: noop, "
                              "script; or a loaded one); empty = refuse them."));
  FLINT_HOST_OPTION(resource_driver.routes.location_type,
                    O::string_map({}, "Deployment location type -> resource driver name."));
  FLINT_HOST_OPTION(resource_driver.routes.vendor_model,
                    O::boolean(false,
                               "Route a location with properties vendor (and model) to the "
                               "resource driver registered for them."));
  FLINT_HOST_OPTION(infrastructure_driver.driver,
                    O::string("netns",
                              "Infrastructure driver serving requests no route claims "
                              "(built-in: netns, noop-infrastructure; or a loaded one); empty = "
                              "refuse them."));
  FLINT_HOST_OPTION(infrastructure_driver.routes.location_type,
                    O::string_map({}, "Deployment location type -> infrastructure driver name."));
  FLINT_HOST_OPTION(infrastructure_driver.routes.vendor_model,
                    O::boolean(false,
                               "Route a location with properties vendor (and model) to the "
                               "infrastructure driver registered for them."));
  FLINT_HOST_OPTION(
      resource_driver.scripts_workspace,
      O::string("./scripts_workspace", "Root where driver packages are extracted (Ignition key)."));
  FLINT_HOST_OPTION(resource_driver.async_messaging_enabled,
                    O::boolean(true, "Ignition key, accepted for compatibility."));

  FLINT_HOST_OPTION(
      driver_files.max_entries,
      O::integer(10000,
                 "Entries in one driver package at most, counting the directories its paths imply.",
                 {.min = 1}));
  FLINT_HOST_OPTION(driver_files.max_total_size,
                    O::size(256 * MiB, "Uncompressed size of one package at most.", {.min = 1}));
  FLINT_HOST_OPTION(
      driver_files.max_entry_size,
      O::size(64 * MiB, "Uncompressed size of one package entry at most.", {.min = 1}));
  FLINT_HOST_OPTION(
      driver_files.max_compression_ratio,
      O::integer(100, "Uncompressed/compressed ratio at most (zip bombs).", {.min = 1}));
  FLINT_HOST_OPTION(driver_files.max_path_length,
                    O::integer(1024, "Length of an entry's path at most, in bytes.", {.min = 1}));
  FLINT_HOST_OPTION(driver_files.cache_size,
                    O::size(1 * GiB,
                            "Extracted packages kept (contents plus 4 KiB per file and directory); "
                            "least recently used go first.",
                            {.min = 1}));

  FLINT_HOST_OPTION(drivers.dirs,
                    O::string_list({}, "Folders whose *.so driver libraries are loaded at start.")
                        .with_validator(check_no_empty_entry));
  FLINT_HOST_OPTION(drivers.on_load_error,
                    O::enumeration("fail", {"fail", "skip"},
                                   "A driver library that cannot be loaded fails the start, or "
                                   "is skipped and reported in health."));
  FLINT_HOST_OPTION(drivers.settings,
                    O::string_map({}, "Settings of drivers, as <driver>.<setting>: value."));
  FLINT_HOST_OPTION(drivers.instances.expire_after_access,
                    O::duration(minutes(10),
                                "A per-target driver instance unused this long is closed "
                                "(0 = never)."));
  FLINT_HOST_OPTION(
      drivers.instances.max,
      O::integer(1024, "Per-target driver instances kept; least recently used go first.",
                 {.min = 1}));
  FLINT_HOST_OPTION(drivers.breaker.failure_threshold,
                    O::integer(5,
                               "Consecutive failures of one target that open its circuit "
                               "breaker (0 = no breaker).",
                               {.min = 0}));
  FLINT_HOST_OPTION(
      drivers.breaker.open_duration,
      O::duration(seconds(30), "How long an open breaker answers at once before a probe call.",
                  {.min = milliseconds(1)}));

  FLINT_HOST_OPTION(
      drivers.netns.state_dir,
      O::string("", "Task records of the netns driver; empty = <store.data_dir>/netns."));
  FLINT_HOST_OPTION(
      drivers.netns.max_computes,
      O::integer(64, "Network namespaces the netns driver may hold in total.", {.min = 1}));
  FLINT_HOST_OPTION(drivers.netns.prefix,
                    O::string("fl",
                              "First letters of every name the netns driver creates "
                              "(1 to 6 of a-z and 0-9, starting with a letter).")
                        .with_validator(check_netns_prefix));
  FLINT_HOST_OPTION(drivers.netns.command_timeout,
                    O::duration(seconds(10), "Timeout of one iproute2 command of the netns driver.",
                                {.min = milliseconds(1)}));

  FLINT_HOST_OPTION(drivers.noop.outcome, O::enumeration("COMPLETE", {"COMPLETE", "FAILED"},
                                                         "How the noop driver's executions end."));
  FLINT_HOST_OPTION(drivers.noop.failure_code,
                    O::enumeration("INTERNAL_ERROR",
                                   {"RESOURCE_NOT_FOUND", "INFRASTRUCTURE_ERROR",
                                    "INSUFFICIENT_CAPACITY", "INTERNAL_ERROR"},
                                   "Failure code of the noop driver when outcome is FAILED."));
  FLINT_HOST_OPTION(
      drivers.noop.polls_in_progress,
      O::integer(0, "Status polls the noop driver answers IN_PROGRESS first.", {.min = 0}));
  FLINT_HOST_OPTION(drivers.noop.latency,
                    O::duration(milliseconds(0), "Delay the noop driver adds to every call."));
  FLINT_HOST_OPTION(drivers.noop.find_found,
                    O::boolean(true, "Whether the noop driver's find returns a reference."));
  FLINT_HOST_OPTION(drivers.noop.state_dir,
                    O::string("",
                              "Directory where the noop driver keeps each request's state as a "
                              "file, so that nodes sharing it see one simulated target; empty = "
                              "in memory, this process only."));

  FLINT_HOST_OPTION(drivers.script.executions_dir,
                    O::string("",
                              "Working directories of script runs; empty = "
                              "<store.data_dir>/script-executions."));
  FLINT_HOST_OPTION(drivers.script.max_concurrent,
                    O::integer(8,
                               "Scripts running at once; more wait in order. Each running script "
                               "holds a file descriptor in Flint.",
                               {.min = 1}));
  FLINT_HOST_OPTION(drivers.script.default_timeout,
                    O::duration(hours(1),
                                "Timeout of a lifecycle script unless its manifest "
                                "sets one; the whole process group is killed.",
                                {.min = milliseconds(1)}));
  FLINT_HOST_OPTION(drivers.script.keep_work_dirs,
                    O::boolean(false,
                               "Keep a script's working directory after its event was "
                               "delivered (for debugging)."));

  FLINT_HOST_OPTION(store.data_dir,
                    O::string("./flint-data", "Directory of Flint's databases and keys."));
  FLINT_HOST_OPTION(store.synchronous,
                    O::enumeration("full", {"full", "normal"},
                                   "Commit durability: full survives a power loss, normal a "
                                   "process crash."));
  FLINT_HOST_OPTION(store.key_file,
                    O::string("",
                              "Key sealing credentials at rest (32 bytes or 64 hex); "
                              "empty = <store.data_dir>/credentials.key, created on first "
                              "start. A named file is never created: missing, it stops the "
                              "start."));
  FLINT_HOST_OPTION(store.accept_new_key,
                    O::boolean(false,
                               "Start with a key that cannot open the work in flight it did not "
                               "seal (the right key is lost for good): that work fails, with its "
                               "events."));
  FLINT_HOST_OPTION(store.execution_retention,
                    O::duration(hours(24 * 7),
                                "Execution records ended longer ago than this are removed; 0 "
                                "keeps them forever."));

  FLINT_HOST_OPTION(monitoring.min_interval,
                    O::duration(milliseconds(500), "First and shortest status poll interval.",
                                {.min = milliseconds(1)}));
  FLINT_HOST_OPTION(monitoring.max_interval,
                    O::duration(seconds(30), "Longest status poll interval (back-off ceiling).",
                                {.min = milliseconds(1)}));
  FLINT_HOST_OPTION(monitoring.total_timeout,
                    O::duration(hours(6), "An execution not finished by then is reported FAILED.",
                                {.min = milliseconds(1)}));
  FLINT_HOST_OPTION(monitoring.max_outcome_size,
                    O::size(512 * KiB,
                            "Largest outcome a driver may report (outputs and associated "
                            "topology, as JSON); a larger one ends the execution or task FAILED "
                            "without them. It bounds the associatedTopology of an execute's "
                            "reply too (a larger one is a 500: the execution is not recorded). "
                            "Keep it under Kafka's message.max.bytes.",
                            {.min = 1 * KiB, .max = 64 * MiB}));
  FLINT_HOST_OPTION(monitoring.max_running,
                    O::integer(256,
                               "Status polls in flight at once (a poll that only awaits the "
                               "commit of its outcome no longer counts).",
                               {.min = 1}));

  FLINT_HOST_OPTION(messaging.connection_address,
                    O::string("",
                              "Kafka bootstrap servers (host:port,...); empty = no Kafka "
                              "(Ignition key).")
                        .with_validator(validate_kafka_bootstrap_servers));
  FLINT_HOST_OPTION(messaging.config,
                    O::string_map({},
                                  "librdkafka client settings passed through (TLS, SASL...); "
                                  "each is tried on librdkafka when the configuration is "
                                  "validated; secret-looking entries print as ****.")
                        .with_validator(validate_kafka_client_settings));
  // librdkafka reads its millisecond settings into an int: 596 h fits.
  FLINT_HOST_OPTION(messaging.delivery_timeout,
                    O::duration(seconds(30),
                                "An event Kafka has not acknowledged by then is offered "
                                "again later (message.timeout.ms).",
                                {.min = milliseconds(1), .max = hours(596)}));
  // `unused_because`: a topic of Ignition's that Flint has no use for; its
  // keys are still validated, so that an Ignition configuration carries over.
  const auto topic = [&table](std::string_view key, std::string_view kafka_name, auto access,
                              std::int64_t partitions = 1, StringMap settings = {},
                              Validator check_settings = validate_kafka_topic_settings,
                              std::string_view unused_because = {}) {
    const std::string prefix = key.find('.') == std::string_view::npos
                                   ? "messaging.topics." + std::string(key) + "."
                                   : std::string(key) + ".";
    const auto describe = [unused_because](const char* description) {
      return unused_because.empty() ? std::string(description)
                                    : "Ignition key, accepted for compatibility; unused: " +
                                          std::string(unused_because);
    };
    table.add(
        prefix + "name",
        O::string(std::string(kafka_name), describe("Kafka topic name."))
            .with_validator(validate_kafka_topic_name),
        [access](HostConfig & c) -> auto& { return access(c).name; });
    table.add(
        prefix + "auto_create",
        O::boolean(false, describe("Create the topic at first use if it is missing.")),
        [access](HostConfig & c) -> auto& { return access(c).auto_create; });
    table.add(
        prefix + "num_partitions",
        // librdkafka's own bound, well inside the int it takes.
        O::integer(partitions, describe("Partitions of the topic when Flint creates it."),
                   {.min = 1, .max = 100'000}),
        [access](HostConfig & c) -> auto& { return access(c).num_partitions; });
    table.add(
        prefix + "replication_factor",
        O::integer(1, describe("Replicas of the topic when Flint creates it."),
                   {.min = 1, .max = 10'000}),
        [access](HostConfig & c) -> auto& { return access(c).replication_factor; });
    table.add(
        prefix + "config",
        O::string_map(settings, describe("Topic settings when Flint creates it (retention.ms...)."))
            .with_validator(std::move(check_settings)),
        [access](HostConfig & c) -> auto& { return access(c).config; });
  };
  topic(
      "lifecycle_execution_events", "lm_vnfc_lifecycle_execution_events",
      [](HostConfig & c) -> auto& { return c.messaging.topics.lifecycle_execution_events; });
  topic(
      "infrastructure_task_events", "lm_vim_infrastructure_task_events",
      [](HostConfig & c) -> auto& { return c.messaging.topics.infrastructure_task_events; });
  // Compacted: the latest record of each execution is its state. Its
  // partitions are the most nodes that can share the monitoring.
  topic(
      "execution_state", "flint_execution_state",
      [](HostConfig & c) -> auto& { return c.messaging.topics.execution_state; }, 12,
      {{"cleanup.policy", "compact"}}, validate_compacted_topic_settings);
  topic(
      "job_queue", "flint_job_queue",
      [](HostConfig & c) -> auto& { return c.messaging.topics.job_queue; }, 1, {},
      validate_kafka_topic_settings,
      "Flint keeps its monitoring jobs in its store, and cluster mode shares them on "
      "messaging.topics.execution_state.");

  FLINT_HOST_OPTION(resource_driver.lifecycle_request_queue.enabled,
                    O::boolean(false,
                               "Put execute requests on a Kafka topic, answer 202 once Kafka has "
                               "them, and execute them from there on any node (needs "
                               "messaging.connection_address and a cluster key) (Ignition key)."));
  FLINT_HOST_OPTION(resource_driver.lifecycle_request_queue.group_id,
                    O::string("flint_lifecycle_request_queue",
                              "Consumer group of the nodes executing queued requests."));
  FLINT_HOST_OPTION(resource_driver.lifecycle_request_queue.max_concurrency,
                    O::integer(16, "Queued requests one node executes at once.", {.min = 1}));
  FLINT_HOST_OPTION(resource_driver.lifecycle_request_queue.retries,
                    O::integer(3,
                               "Attempts after a temporary failure of a queued request (delay "
                               "doubling from 1 s) before it is reported FAILED.",
                               {.min = 0, .max = 20}));
  topic(
      "resource_driver.lifecycle_request_queue.topic", "flint_lifecycle_request_queue",
      [](HostConfig & c) -> auto& { return c.resource_driver.lifecycle_request_queue.topic; }, 20);
  topic(
      "resource_driver.lifecycle_request_queue.failed_topic",
      "flint_lifecycle_request_queue_failed", [](HostConfig & c) -> auto& {
        return c.resource_driver.lifecycle_request_queue.failed_topic;
      });

  FLINT_HOST_OPTION(job_queue.consumer_group_id,
                    O::string("flint_job_queue",
                              "Cluster mode: the Kafka consumer group of the nodes sharing the "
                              "monitoring (Ignition key)."));
  FLINT_HOST_OPTION(cluster.enabled,
                    O::boolean(false,
                               "Share the monitoring of lifecycle executions with the other "
                               "nodes of the consumer group, through Kafka (needs "
                               "messaging.connection_address and a cluster key)."));
  FLINT_HOST_OPTION(cluster.node_id,
                    O::string("", "This node's name in logs and health; empty = the host name."));
  FLINT_HOST_OPTION(
      cluster.key_file,
      O::string("",
                "File of the cluster key sealing the state topic (32 raw bytes or "
                "64 hex characters, mode 0600, the same on every node); or set "
                "FLINT_CLUSTER_KEY to the 64 hex characters (it wins over the file)."));
  FLINT_HOST_OPTION(cluster.session_timeout,
                    O::duration(seconds(10),
                                "A node silent this long leaves the group; its executions "
                                "move to the others (session.timeout.ms).",
                                {.min = milliseconds(1000), .max = hours(1)}));
  FLINT_HOST_OPTION(cluster.commit_interval,
                    O::duration(seconds(2),
                                "How often a node commits where its partitions' oldest live "
                                "execution is.",
                                {.min = milliseconds(10)}));

  FLINT_HOST_OPTION(events.log.enabled,
                    O::boolean(true,
                               "Deliver events to the embedded event log and serve "
                               "/api/events."));
  FLINT_HOST_OPTION(
      events.retention.max_age,
      O::duration(hours(24 * 7), "Events older than this are pruned.", {.min = milliseconds(1)}));
  FLINT_HOST_OPTION(events.retention.max_count,
                    O::integer(1'000'000, "Events kept at most.", {.min = 1}));

  FLINT_HOST_OPTION(bootstrap.resource_driver.api_enabled,
                    O::boolean(true, "Serve the Resource Driver API (/api/driver)."));
  FLINT_HOST_OPTION(bootstrap.infrastructure.api_enabled,
                    O::boolean(true, "Serve the Infrastructure API (/api/infrastructure)."));
  FLINT_HOST_OPTION(bootstrap.management.api_enabled,
                    O::boolean(true, "Serve the management API (/management/health)."));
  FLINT_HOST_OPTION(bootstrap.metrics.enabled, O::boolean(true, "Serve Prometheus metrics."));
  FLINT_HOST_OPTION(bootstrap.events.api_enabled,
                    O::boolean(true, "Serve the event log API (/api/events)."));
  FLINT_HOST_OPTION(bootstrap.openapi.enabled,
                    O::boolean(true, "Serve openapi.json and the Swagger UI."));

  FLINT_HOST_OPTION(
      api.swagger_ui_dir,
      O::string("", "Swagger UI files; empty = where the build or install put them."));

  FLINT_HOST_OPTION(
      logging.level,
      O::enumeration("info", {"trace", "debug", "info", "warn", "error", "critical", "off"},
                     "Least severe level logged (case-insensitive).")
          .with_value_aliases({{"warning", "warn"}}));
  FLINT_HOST_OPTION(logging.type, O::enumeration("flat", {"flat", "logstash"},
                                                 "Log line format: text, or logstash JSON lines."));

  auto& schema = table.schema();
  schema.add_env_alias("LOG_LEVEL", "logging.level");
  schema.add_env_alias("LOG_TYPE", "logging.type");
  // Read by the application itself (a secret, so not an option that
  // `flint config` would print): only its shape is checked here.
  schema.add_reserved_variable("FLINT_CLUSTER_KEY", [](std::string_view hex) {
    const bool valid = hex.size() == 64 && std::all_of(hex.begin(), hex.end(), [](char c) {
                         return std::isxdigit(static_cast<unsigned char>(c)) != 0;
                       });
    return valid ? std::nullopt
                 : std::optional<std::string>(
                       "expected 64 hex characters (a 256-bit cluster key); the value is not "
                       "shown");
  });
  schema.add_check([](const ConfigValues& values, std::vector<std::string>& errors) {
    const auto entry = values.get<std::uint64_t>("driver_files.max_entry_size");
    const auto total = values.get<std::uint64_t>("driver_files.max_total_size");
    const auto cache = values.get<std::uint64_t>("driver_files.cache_size");
    if (entry > total) {
      errors.push_back("driver_files.max_entry_size (" + format_size(entry) +
                       ") must not exceed driver_files.max_total_size (" + format_size(total) +
                       ")");
    }
    const bool certificate = !values.get<std::string>("http.tls.cert_file").empty();
    const bool key = !values.get<std::string>("http.tls.key_file").empty();
    if (certificate != key) {
      errors.push_back(
          "http.tls.cert_file and http.tls.key_file go together: set both for TLS, "
          "or neither");
    }
    if (!certificate && !values.get<std::string>("http.tls.client_ca_file").empty()) {
      errors.push_back(
          "http.tls.client_ca_file needs TLS: set http.tls.cert_file and "
          "http.tls.key_file too");
    }
    if (!values.get<bool>("events.log.enabled") &&
        values.get<std::string>("messaging.connection_address").empty()) {
      errors.push_back(
          "events.log.enabled is false and messaging.connection_address is empty: events would "
          "have nowhere to go (enable the log or configure Kafka)");
    }
    if (values.get<bool>("resource_driver.lifecycle_request_queue.enabled") &&
        values.get<std::string>("messaging.connection_address").empty()) {
      errors.push_back(
          "resource_driver.lifecycle_request_queue.enabled is true but "
          "messaging.connection_address is empty: the queue is a Kafka topic");
    }
    if (values.get<bool>("cluster.enabled") &&
        values.get<std::string>("messaging.connection_address").empty()) {
      errors.push_back(
          "cluster.enabled is true but messaging.connection_address is empty: the nodes of a "
          "cluster share their work through Kafka");
    }
    if (cache < total) {
      errors.push_back("driver_files.cache_size (" + format_size(cache) +
                       ") must be at least driver_files.max_total_size (" + format_size(total) +
                       "), or a package at the limit could not be cached");
    }
  });
  schema.add_check(check_directories);
  return table;
}

#undef FLINT_HOST_OPTION

const HostTable& host_table() {
  static const HostTable table = make_table();
  return table;
}

}  // namespace

std::map<std::string, std::size_t, std::less<>> dedicated_thread_counts(const HostConfig& config) {
  std::map<std::string, std::size_t, std::less<>> counts;
  for (const auto& [driver, text] : config.driver_calls.dedicated_threads) {
    counts.emplace(driver, parse_thread_count(text).value());  // checked when loaded
  }
  return counts;
}

const ConfigSchema& host_config_schema() {
  return host_table().schema();
}

HostConfig load_host_config(const std::optional<std::filesystem::path>& file,
                            const Environment& env) {
  refuse_empty_file(file);
  const auto& table = host_table();
  return table.build(table.schema().load(file, env));
}

std::string effective_yaml(const std::optional<std::filesystem::path>& file,
                           const Environment& env) {
  refuse_empty_file(file);
  const auto& schema = host_config_schema();
  return schema.effective_yaml(schema.load(file, env));
}

}  // namespace flint::config
