#include "script/script_driver.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <flint/sdk/errors.hpp>
#include <flint/sdk/ids.hpp>
#include <flint/sdk/json.hpp>

#include "files/durable.hpp"
#include "logging/logging.hpp"
#include "logging/thread_name.hpp"
#include "script/child_process.hpp"
#include "script/execution_directory.hpp"
#include "script/script_catalog.hpp"
#include "script/script_result.hpp"

namespace flint::drivers::script {
namespace {

namespace bj = boost::json;
namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::steady_clock;
using std::chrono::system_clock;

constexpr const char* kSupervisorShell = "/bin/sh";
// The supervisor: runs the command ("$@", never parsed or expanded further),
// then records its exit code with a rename, so that a reader sees either no
// file or the whole code, and a host that restarted can still learn it. It
// exits with the command's code whether or not the file could be written
// (disk full), so the host that reaps it learns the code all the same. This
// text is a constant: no request value is ever part of it. It catches SIGTERM
// (a handled signal, unlike an ignored one, is reset to default in the
// command) so that on a timeout it outlives the command during the grace
// period instead of dying first and getting the group SIGKILLed early.
// `sync` makes the code and the script's result file durable before the
// code's name appears, and the name after: a power loss soon after the end
// must not turn a finished script into an interrupted one. Without `sync`
// in PATH the code is still recorded, only not synced. Only the command
// writes to stderr: the shell's own report of a command killed by a signal
// ("Terminated" after every timeout) would end its tail; the subshell keeps
// the command's stderr off the shell while the shell waits for it.
constexpr const char* kSupervisorScript =
    "trap : TERM\n"
    "exec 3>&2 2>/dev/null\n"
    "( exec \"$@\" 2>&3 3>&- )\n"
    "status=$?\n"
    "if { printf '%s\\n' \"$status\" > exit_status.tmp; } 2>/dev/null; then\n"
    "  if [ -f result.json ] && [ ! -h result.json ]; then\n"
    "    { sync -- exit_status.tmp result.json; } 2>/dev/null\n"
    "  else\n"
    "    { sync -- exit_status.tmp; } 2>/dev/null\n"
    "  fi\n"
    "  mv -f exit_status.tmp exit_status 2>&3 && { sync -- .; } 2>/dev/null\n"
    "fi\n"
    "exit \"$status\"\n";
constexpr std::string_view kFindDir = ".find";
// How often the monitor looks whether a script taken over at start ended.
constexpr auto kTakenOverCheck = std::chrono::seconds(1);
// Runs beside each Find script with a pipe from the host as stdin: end of
// file means the host process died (kill -9, or a stop that gave up on the
// call), and then it kills the Find's process group ($1, our own number) and
// removes its directory ($2, our own path, made writable first unless a
// link took its place), credentials included. The host kills it first when
// the call ends normally.
constexpr const char* kWatchdogScript =
    "read line\nkill -s KILL -- \"-$1\" 2>/dev/null\n"
    "[ -h \"$2\" ] || chmod -R u+rwx -- \"$2\" 2>/dev/null\nrm -rf -- \"$2\"\n";
constexpr std::string_view kFindLifecycle = "Find";
// Upper bound of a monitor sleep when a process cannot be watched by pidfd.
constexpr milliseconds kFallbackPoll{100};
// A process that cannot be started for want of a resource the host may get
// back (processes, memory, descriptors, disk) is tried again, with a pause
// that doubles from the first to the last, for as long as its timeout.
constexpr milliseconds kFirstSpawnRetry{200};
constexpr milliseconds kLongestSpawnRetry{10'000};
// How often an outcome kept in memory (its file could not be written) is
// written again.
constexpr auto kUnrecordedRetry = std::chrono::seconds(1);
// How often the outcome of an execution whose files could not be read (out
// of descriptors...) is read again to be reported.
constexpr auto kUnreadableRetry = std::chrono::seconds(1);
// How often abandoned working directories are looked for.
constexpr auto kAbandonedCheck = std::chrono::hours(1);

bool may_pass(const std::error_code& error) {
  if (error.category() != std::generic_category() && error.category() != std::system_category()) {
    return false;
  }
  switch (error.value()) {
    case EAGAIN:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
    case ENOSPC:
    case EDQUOT:
      return true;
    default:
      return false;
  }
}

std::string format_duration(milliseconds duration) {
  const auto ms = duration.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  std::string text = std::to_string(ms / 1000) + "." + std::to_string(1000 + ms % 1000).substr(1);
  while (text.back() == '0') text.pop_back();
  return text + " s";
}

std::int64_t unix_ms(system_clock::time_point time) {
  return std::chrono::duration_cast<milliseconds>(time.time_since_epoch()).count();
}

std::string env_or(const char* name, std::string fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : std::move(fallback);
}

std::optional<std::int64_t> parse_int(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<bj::object> read_json_object(const ExecutionDirectory& dir, std::string_view name) {
  auto text = dir.read(name);
  if (!text) return std::nullopt;
  boost::system::error_code ec;
  bj::value value = sdk::json::parse_stored(*text, ec);
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.get_object());
}

std::int64_t int_field(const bj::object& object, std::string_view name, std::int64_t fallback) {
  const auto* value = object.if_contains(name);
  return value != nullptr && value->is_int64() ? value->get_int64() : fallback;
}

// Milliseconds on CLOCK_BOOTTIME: the same in every process of this boot,
// suspend included, and never stepped, unlike the wall clock. A script does
// not outlive a reboot, so a deadline recorded on it holds for as long as
// the script can run.
std::int64_t boot_ms() {
  timespec now{};
  ::clock_gettime(CLOCK_BOOTTIME, &now);
  return std::int64_t{now.tv_sec} * 1000 + now.tv_nsec / 1'000'000;
}

// The time left until the deadline recorded in process.json (negative once
// past): by the boot clock, so that setting the wall clock while the host is
// down neither stretches nor cuts a script's timeout; by the wall clock for
// a record without it (written by an older Flint).
milliseconds until_recorded_deadline(const bj::object& process) {
  if (const auto boot = int_field(process, "deadlineBootMs", -1); boot >= 0) {
    return milliseconds(boot - boot_ms());
  }
  return milliseconds(int_field(process, "deadlineUnixMs", 0) - unix_ms(system_clock::now()));
}

// This boot's id (/proc/sys/kernel/random/boot_id), empty when unknown.
const std::string& boot_id() {
  static const std::string id = [] {
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    std::string line;
    std::getline(in, line);
    return line;
  }();
  return id;
}

// The process group recorded in process.json, or 0 when it was recorded in
// an earlier boot: the script died with it, the id may be anyone's now, and
// the boot clock of its deadline started again.
pid_t group_of(const bj::object& process) {
  if (const auto* recorded = process.if_contains("bootId"); recorded && recorded->is_string() &&
                                                            !boot_id().empty() &&
                                                            recorded->get_string() != boot_id()) {
    return 0;
  }
  return static_cast<pid_t>(int_field(process, "pgid", 0));
}

// What execute_lifecycle recorded about an execution (execution.json).
struct ExecutionRecord {
  std::string lifecycle = "?";
  milliseconds timeout{0};
};

ExecutionRecord read_execution_record(const ExecutionDirectory& dir) {
  ExecutionRecord record;
  if (auto object = read_json_object(dir, work_files::kExecution)) {
    if (const auto* name = object->if_contains("lifecycleName"); name && name->is_string()) {
      record.lifecycle = std::string(name->get_string());
    }
    record.timeout = milliseconds(int_field(*object, "timeoutMs", 0));
  }
  return record;
}

// True when the leader of `pgid` is alive and works in `dir`: the group is
// still the one we started, not a recycled id. Falls back to "the group
// exists" where /proc cannot tell.
bool group_is_ours(pid_t pgid, const fs::path& dir) {
  if (pgid <= 1) return false;
  char link[PATH_MAX];
  const std::string proc = "/proc/" + std::to_string(pgid) + "/cwd";
  const ssize_t n = ::readlink(proc.c_str(), link, sizeof link - 1);
  if (n >= 0) return std::string_view(link, static_cast<std::size_t>(n)) == dir.native();
  if (errno == ENOENT || errno == ESRCH) return false;  // leader gone
  return process_group_exists(pgid);
}

// The members of process group `pgid` still working in `dir` or below it.
// One that has exited (a zombie) has no working directory: it writes no more.
std::vector<pid_t> members_working_in(pid_t pgid, const fs::path& dir) {
  std::vector<pid_t> members;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    pid_t pid = 0;
    const auto [end, error] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (error != std::errc() || end != name.data() + name.size() || ::getpgid(pid) != pgid) {
      continue;
    }
    char link[PATH_MAX];
    const ssize_t n = ::readlink(("/proc/" + name + "/cwd").c_str(), link, sizeof link - 1);
    if (n < 0) continue;
    const std::string_view cwd(link, static_cast<std::size_t>(n));
    if (cwd == dir.native() || cwd.starts_with(dir.native() + "/")) members.push_back(pid);
  }
  return members;
}

// How long killed leftovers get to exit. SIGKILL ends a process at its next
// return from the kernel; only one stuck there (a hung mount) takes longer.
constexpr milliseconds kLeftoversExitWait{2'000};

// Kills what a script left in its process group once its leader (the
// supervisor) is gone, for a script this process did not start (it was
// taken over after a host restart; the monitor thread does it for the
// others). Only members still working in the script's directory: a group
// id reused since then is never hit. Then waits until they have exited: one
// killed in the middle of a system call still finishes it, and may add a
// file to the directory while it is being removed. False when some are still
// there after `kLeftoversExitWait`.
bool kill_leftovers(pid_t pgid, const fs::path& dir) {
  if (!process_group_exists(pgid)) return true;
  const auto give_up = steady_clock::now() + kLeftoversExitWait;
  for (auto members = members_working_in(pgid, dir); !members.empty();
       members = members_working_in(pgid, dir)) {
    if (steady_clock::now() >= give_up) return false;
    for (const pid_t pid : members) ::kill(pid, SIGKILL);
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

// Removes a working directory, saying so when it cannot: it holds the
// request with its credentials.
void remove_work_dir(const ExecutionDirectory& dir) {
  if (const std::error_code error = dir.remove()) {
    logging::logger("driver." + std::string(kDriverName))
        ->warn(
            "script driver: cannot remove {}: {}; it holds a request with its credentials: "
            "remove it by hand",
            dir.path().string(), error.message());
  }
}

// The process group recorded for an execution, 0 when none was (see group_of).
pid_t recorded_group(const ExecutionDirectory& dir) {
  dir.reclaim();
  const auto process = read_json_object(dir, work_files::kProcess);
  return process ? group_of(*process) : 0;
}

// The script's result file, refused unless it is a regular file (a FIFO would
// block the reader, a link may point anywhere) of at most 1 MiB. Throws
// UnreadableFileError when it cannot be read now: that says nothing of the
// script's result.
ResultFile read_result_file(const ExecutionDirectory& dir) {
  auto file = dir.read_regular(work_files::kResult, kMaxResultFileBytes);
  switch (file.status) {
    case FileContent::Status::ok:
      return ResultFile(std::move(file.content));
    case FileContent::Status::missing:
      return {};
    case FileContent::Status::not_regular:
      return ResultFile::unusable("not a regular file");
    case FileContent::Status::too_large:
      return ResultFile::unusable("larger than " + std::to_string(kMaxResultFileBytes) + " bytes");
    case FileContent::Status::unreadable:
      break;
  }
  throw UnreadableFileError(file.error, dir.file(work_files::kResult));
}

// The end of stderr for a failure description, with private keys masked as
// in the whole text: a key that starts before the part kept is masked too.
std::string masked_stderr(const ExecutionDirectory& dir, std::size_t tail_bytes) {
  PrivateKeyTracker tracker;
  // Read a little more than the tail: trailing blanks are dropped first.
  const std::string tail = dir.read_tail(work_files::kStderr, tail_bytes * 2 + 64,
                                         [&](std::string_view piece) { tracker.feed(piece); });
  return mask_private_keys(tracker.resume(), tail);
}

// `message`, then the end of stderr when there is one: a script's last words
// often say what it was waiting for.
std::string with_stderr_tail(std::string message, const ExecutionDirectory& dir,
                             std::size_t tail_bytes) {
  const std::string tail = stderr_tail(masked_stderr(dir, tail_bytes), tail_bytes);
  if (!tail.empty()) message += "; stderr: " + tail;
  return message;
}

std::string timed_out_message(const ExecutionRecord& record, const ExecutionDirectory& dir,
                              const Options& options) {
  return with_stderr_tail(
      "lifecycle " + record.lifecycle + " timed out after " + format_duration(record.timeout), dir,
      options.stderr_tail_bytes);
}

// What this driver learnt when it reaped a supervisor that left no
// `exit_status` (it could not write it: disk full...). The supervisor exits
// with its command's code, so its wait status stands in for the file.
struct ReapedOutcome {
  int exit_code = 0;       // 128+N when the supervisor itself died of signal N
  bool timed_out = false;  // killed for its timeout, even if `timed_out` is missing
};

// The exit code a wait status of the supervisor stands for.
int exit_code_of(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

// The state of an execution as its working directory tells it, completed by
// `reaped` when this process reaped its supervisor. `enforce_timeout` lets a
// poll kill a script taken over after a host restart. Throws
// UnreadableFileError when a file it needs cannot be read now: a missing
// file is a fact, an unreadable one is not.
sdk::LifecycleExecution read_state(const std::string& id, const ExecutionDirectory& dir,
                                   const Options& options, bool enforce_timeout,
                                   const std::optional<ReapedOutcome>& reaped = std::nullopt) {
  using sdk::FailureCode;
  using sdk::LifecycleExecution;
  dir.reclaim();
  const ExecutionRecord record = read_execution_record(dir);
  if (auto error = dir.read(work_files::kSpawnError)) {
    return LifecycleExecution::failed(
        id, FailureCode::internal_error,
        "lifecycle " + record.lifecycle + " could not be started: " + sanitize_utf8(*error));
  }
  const auto process = read_json_object(dir, work_files::kProcess);
  const pid_t pgid = process ? group_of(*process) : 0;
  const milliseconds until_deadline =
      process ? until_recorded_deadline(*process) : milliseconds::min();

  if (dir.has(work_files::kTimedOut) || (reaped && reaped->timed_out)) {
    if (enforce_timeout && group_is_ours(pgid, dir.path())) {
      // Killed with SIGTERM by an earlier poll: its grace first, then
      // SIGKILL. Not terminal before: once delivered, nothing polls again.
      if (until_deadline > -options.kill_grace) {
        return LifecycleExecution::in_progress(id);
      }
      signal_process_group(pgid, SIGKILL);
    }
    return LifecycleExecution::failed(id, FailureCode::internal_error,
                                      timed_out_message(record, dir, options));
  }

  auto finished = [&]() -> std::optional<LifecycleExecution> {
    auto status = dir.read(work_files::kExitStatus);
    if (!status && reaped) status = std::to_string(reaped->exit_code);
    if (!status) return std::nullopt;
    const auto code = parse_int(*status);
    if (!code) {
      return LifecycleExecution::failed(id, FailureCode::internal_error,
                                        "lifecycle " + record.lifecycle +
                                            ": unreadable exit status \"" +
                                            sanitize_utf8(status->substr(0, 32)) + "\"");
    }
    return lifecycle_result(id, record.lifecycle, static_cast<int>(*code), read_result_file(dir),
                            masked_stderr(dir, options.stderr_tail_bytes),
                            options.stderr_tail_bytes);
  };
  if (auto result = finished()) {
    if (enforce_timeout) kill_leftovers(pgid, dir.path());  // as the monitor thread does
    return std::move(*result);
  }

  if (!process) {
    return LifecycleExecution::failed(
        id, FailureCode::internal_error,
        "lifecycle " + record.lifecycle +
            " never started: the host stopped while it was queued (host restart?)");
  }
  if (group_is_ours(pgid, dir.path())) {
    if (enforce_timeout && until_deadline <= milliseconds::zero()) {
      // A previous host process started it; enforce its timeout on its behalf.
      try {
        dir.write(work_files::kTimedOut, std::to_string(unix_ms(system_clock::now())));
      } catch (const std::exception&) {
        // Still kill: the poll after it reports "interrupted" instead.
      }
      signal_process_group(pgid, SIGTERM);
    }
    return LifecycleExecution::in_progress(id);
  }
  // The supervisor writes the status before it exits: look again in case it
  // ended between the two checks.
  if (auto result = finished()) return std::move(*result);
  return LifecycleExecution::failed(
      id, FailureCode::internal_error,
      "lifecycle " + record.lifecycle +
          " was interrupted: the script ended without recording an exit status (host restart?)");
}

// A process that kills a Find script's process group when the host process
// dies during the call (see kWatchdogScript). Best effort: without it the
// Find still runs, and the next start removes its directory.
class FindWatchdog {
 public:
  FindWatchdog(pid_t pgid, const fs::path& dir, const std::string& path,
               sdk::CallContext& context) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      context.debug("script driver: no Find watchdog: pipe failed");
      return;
    }
    write_fd_ = fds[1];
    SpawnSpec spec;
    spec.argv = {kSupervisorShell,     "-c",        kWatchdogScript, "flint-find-watchdog",
                 std::to_string(pgid), dir.string()};
    spec.environment = {"PATH=" + path};
    spec.working_directory = "/";
    spec.stdin_fd = fds[0];
    spec.stdout_file = "/dev/null";
    spec.stderr_file = "/dev/null";
    try {
      process_ = ChildProcess::spawn(spec);
    } catch (const std::exception& error) {
      context.debug(std::string("script driver: no Find watchdog: ") + error.what());
    }
    ::close(fds[0]);
  }
  ~FindWatchdog() { stop(); }
  /// Ends the watchdog; call before the Find process is reaped.
  void stop() noexcept {
    if (process_) {
      process_->signal_group(SIGKILL);
      process_->reap();
      process_.reset();
    }
    if (write_fd_ >= 0) ::close(write_fd_);  // only now: EOF would make it kill
    write_fd_ = -1;
  }
  FindWatchdog(const FindWatchdog&) = delete;
  FindWatchdog& operator=(const FindWatchdog&) = delete;

 private:
  std::optional<ChildProcess> process_;
  int write_fd_ = -1;
};

}  // namespace

// One execution known to this driver instance: queued, starting or running.
struct ScriptExecution {
  enum class State { queued, starting, running, retrying, failed_to_start };

  ScriptExecution(std::string request_id, std::string lifecycle_name, ExecutionDirectory directory)
      : id(std::move(request_id)),
        lifecycle(std::move(lifecycle_name)),
        dir(std::move(directory)) {}

  std::string id;
  std::string lifecycle;
  ExecutionDirectory dir;
  SpawnSpec spec;
  milliseconds timeout{0};
  std::shared_ptr<sdk::ExecutionReporter> reporter;
  sdk::DirectoryTree files;  // keeps the package on disk while the script reads it
  State state = State::queued;
  std::optional<ChildProcess> process;
  steady_clock::time_point deadline{};
  // Starting failed for a passing reason: try again then (state `retrying`).
  steady_clock::time_point retry_at{};
  milliseconds retry_pause{0};
  std::optional<steady_clock::time_point> first_spawn_failure;
  int spawn_attempts = 0;
  std::optional<steady_clock::time_point> kill_at;
  bool timed_out = false;
  // The host delivered a final outcome already (it gave up on this run):
  // never start it, or stop it now.
  bool cancelled = false;
};

struct ScriptDriver::Impl {
  Impl(const Options& opts, std::function<ChildProcess(const SpawnSpec&)> spawn)
      : options(opts), spawner(std::move(spawn)) {
    wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd < 0) {
      throw std::system_error(errno, std::generic_category(), "script driver: eventfd");
    }
    path = env_or("PATH", "/usr/local/bin:/usr/bin:/bin");
    home = env_or("HOME", "/");
    lang = env_or("LANG", "C.UTF-8");
    take_over_running_scripts();
    remove_abandoned_directories();
    monitor =
        logging::start_thread("the script driver's monitor thread", [this] { run_monitor(); });
  }

  // Scripts a previous host process started and that still run hold their
  // slots of max_concurrent until they end (the monitor looks once a
  // second), so a restart does not let more than that run at once.
  void take_over_running_scripts() {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(options.executions_dir, ec)) {
      const std::string id = entry.path().filename().string();
      if (!sdk::is_canonical_uuid(id)) continue;
      const ExecutionDirectory dir(entry.path());
      if (dir.has(work_files::kExitStatus)) continue;
      try {
        if (const pid_t pgid = recorded_group(dir); group_is_ours(pgid, dir.path())) {
          taken_over.emplace(id, pgid);
          ++slots_used;
        }
      } catch (const UnreadableFileError&) {
        // Not counted: its polls will tell, once the file reads again.
      }
    }
  }

  // Removes the working directories no host will ask for again (see
  // Options::abandoned_after): they hold requests with their credentials.
  void remove_abandoned_directories() {
    next_abandoned_check = steady_clock::now() + kAbandonedCheck;
    if (options.keep_work_dirs) return;
    const auto cutoff = fs::file_time_type::clock::now() - options.abandoned_after;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(options.executions_dir, ec)) {
      const std::string id = entry.path().filename().string();
      if (!sdk::is_canonical_uuid(id)) continue;
      {
        std::lock_guard lock(mutex);
        if (executions.contains(id) || taken_over.contains(id) || unrecorded.contains(id) ||
            unreported.contains(id)) {
          continue;
        }
      }
      std::error_code time_error;
      const auto changed = fs::last_write_time(entry.path(), time_error);
      if (time_error || changed > cutoff) continue;
      const ExecutionDirectory dir(entry.path());
      try {
        if (group_is_ours(recorded_group(dir), dir.path())) continue;  // still running
      } catch (const UnreadableFileError&) {
        continue;  // may be running: next time
      }
      remove_work_dir(dir);
    }
  }

  ~Impl() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    wake();
    monitor.join();
    ::close(wake_fd);
  }

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void wake() const noexcept {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd, &one, sizeof one);
  }

  std::vector<std::string> environment(const ExecutionDirectory& dir,
                                       const sdk::DirectoryTree& files, std::string_view lifecycle,
                                       std::string_view id) const {
    // Minimal on purpose: the host's environment may hold its own secrets.
    return {
        "PATH=" + path,
        "HOME=" + home,
        "LANG=" + lang,
        "FLINT_REQUEST_FILE=" + dir.file(work_files::kRequest).string(),
        "FLINT_RESULT_FILE=" + dir.file(work_files::kResult).string(),
        "FLINT_WORK_DIR=" + dir.path().string(),
        "FLINT_DRIVER_FILES=" + files.path().string(),
        "FLINT_LIFECYCLE=" + std::string(lifecycle),
        "FLINT_REQUEST_ID=" + std::string(id),
    };
  }

  SpawnSpec spawn_spec(const ExecutionDirectory& dir, const sdk::DirectoryTree& files,
                       const ScriptCommand& command, std::string_view lifecycle,
                       std::string_view id) const {
    SpawnSpec spec;
    spec.argv = {kSupervisorShell, "-c", kSupervisorScript, "flint-script"};
    spec.argv.insert(spec.argv.end(), command.argv.begin(), command.argv.end());
    spec.environment = environment(dir, files, lifecycle, id);
    spec.working_directory = dir.path();
    spec.stdin_file = dir.file(work_files::kRequest);
    spec.stdout_file = dir.file(work_files::kStdout);
    spec.stderr_file = dir.file(work_files::kStderr);
    return spec;
  }

  // Starts an execution whose slot is reserved (state `starting`). Called
  // without the lock; only the caller touches `e` until it is `running`.
  void launch(ScriptExecution& e) {
    std::optional<ChildProcess> child;
    ++e.spawn_attempts;
    try {
      child = spawner(e.spec);
    } catch (const std::system_error& error) {
      if (retry_later(e, error.code())) return;
      record_spawn_error(e, error.what());
    } catch (const std::exception& error) {
      record_spawn_error(e, error.what());
    }
    const auto steady_deadline = steady_clock::now() + e.timeout;
    if (child) {
      bj::object record;
      record["pgid"] = child->pid();
      record["deadlineUnixMs"] = unix_ms(system_clock::now() + e.timeout);
      record["deadlineBootMs"] = boot_ms() + e.timeout.count();
      if (!boot_id().empty()) record["bootId"] = boot_id();
      try {
        e.dir.write(work_files::kProcess, bj::serialize(record));
      } catch (const std::exception&) {
        // Only a restarted host needs it; this one watches the process itself.
      }
    }
    {
      std::lock_guard lock(mutex);
      if (child) {
        e.process = std::move(child);
        e.deadline = steady_deadline;
        e.state = ScriptExecution::State::running;
      } else {
        e.state = ScriptExecution::State::failed_to_start;
      }
    }
    wake();
  }

  // Schedules another start when `error` may pass and the execution's
  // timeout leaves time for it. It keeps its slot meanwhile: other starts
  // would fail alike.
  bool retry_later(ScriptExecution& e, const std::error_code& error) {
    if (!may_pass(error)) return false;
    const auto now = steady_clock::now();
    if (!e.first_spawn_failure) e.first_spawn_failure = now;
    e.retry_pause = std::clamp(e.retry_pause * 2, kFirstSpawnRetry, kLongestSpawnRetry);
    if (now + e.retry_pause >= *e.first_spawn_failure + e.timeout) return false;
    {
      std::lock_guard lock(mutex);
      e.retry_at = now + e.retry_pause;
      e.state = ScriptExecution::State::retrying;
    }
    wake();
    return true;
  }

  static void record_spawn_error(ScriptExecution& e, const std::string& error) {
    const std::string attempts =
        e.spawn_attempts > 1 ? " (" + std::to_string(e.spawn_attempts) + " attempts)" : "";
    try {
      e.dir.write(work_files::kSpawnError, error + attempts);
    } catch (const std::exception&) {
      // The directory itself is broken; polls will say "never started".
    }
  }

  // Reports the outcome of an ended execution. When its files cannot be read
  // now (out of descriptors...), it is read again later (every
  // kUnreadableRetry, until reported or delivered): a push reporter is not
  // polled, so nobody else would learn it.
  void report(ScriptExecution& e, const std::optional<ReapedOutcome>& reaped) {
    if (!e.reporter) return;
    if (!try_report(e.id, e.dir, *e.reporter, reaped)) {
      std::lock_guard lock(mutex);
      if (unreported.empty()) next_report_retry = steady_clock::now() + kUnreadableRetry;
      unreported.try_emplace(e.id, e.reporter);
    }
  }

  // False when the state could not be read now.
  bool try_report(const std::string& id, const ExecutionDirectory& dir,
                  sdk::ExecutionReporter& reporter, const std::optional<ReapedOutcome>& reaped) {
    std::optional<sdk::LifecycleExecution> outcome;
    try {
      outcome = read_state(id, dir, options, false, reaped);
    } catch (const UnreadableFileError& error) {
      note_unreadable(id, error, nullptr);
      return false;
    } catch (const std::exception&) {
      return true;  // nothing to report; the host polls at its total deadline
    }
    forget_unreadable(id);
    try {
      reporter.report(std::move(*outcome));
    } catch (const std::exception&) {
      // A failing reporter must not stop the monitor; the host polls anyway.
    }
    return true;
  }

  // Reports again the outcomes that could not be read (see `report`).
  void retry_reports() {
    std::vector<std::pair<std::string, std::shared_ptr<sdk::ExecutionReporter>>> pending;
    {
      std::lock_guard lock(mutex);
      const auto now = steady_clock::now();
      if (unreported.empty() || now < next_report_retry) return;
      next_report_retry = now + kUnreadableRetry;
      pending.assign(unreported.begin(), unreported.end());
    }
    for (const auto& [id, reporter] : pending) {
      const ExecutionDirectory dir(options.executions_dir / id);
      if (!try_report(id, dir, *reporter, outcome_without_file(id))) continue;
      std::lock_guard lock(mutex);
      unreported.erase(id);
    }
  }

  // Logs, once per execution, that a file it needs cannot be read now.
  // Through `context` when there is one (a poll), else the driver's logger.
  void note_unreadable(const std::string& id, const UnreadableFileError& error,
                       sdk::CallContext* context) {
    {
      std::lock_guard lock(mutex);
      if (!unreadable_logged.insert(id).second) return;
    }
    const std::string message =
        "script driver: request " + id + ": " + error.what() + "; its state is read again later";
    if (context != nullptr) {
      context->warn(message);
    } else {
      logging::logger("driver." + std::string(kDriverName))->warn("{}", message);
    }
  }

  void forget_unreadable(const std::string& id) {
    std::lock_guard lock(mutex);
    unreadable_logged.erase(id);
  }

  // The outcome kept for `id` by the monitor, if any.
  std::optional<ReapedOutcome> outcome_without_file(const std::string& id) const {
    std::lock_guard lock(mutex);
    const auto it = unrecorded.find(id);
    return it == unrecorded.end() ? std::nullopt : std::optional(it->second);
  }

  void run_monitor() {
    for (;;) {
      std::vector<pollfd> fds{{wake_fd, POLLIN, 0}};
      int timeout_ms = -1;
      {
        std::lock_guard lock(mutex);
        if (stopping) return;
        const auto now = steady_clock::now();
        auto wake_at = [&](steady_clock::time_point when) {
          const auto left = std::chrono::ceil<milliseconds>(when - now).count();
          const int ms = static_cast<int>(std::clamp<long long>(left, 0, 60'000));
          timeout_ms = timeout_ms < 0 ? ms : std::min(timeout_ms, ms);
        };
        if (!taken_over.empty()) wake_at(now + kTakenOverCheck);
        if (!unrecorded.empty()) wake_at(next_unrecorded_write);
        if (!unreported.empty()) wake_at(next_report_retry);
        wake_at(next_abandoned_check);
        for (auto& [id, e] : executions) {
          if (e->state == ScriptExecution::State::failed_to_start) {
            wake_at(now);
          } else if (e->state == ScriptExecution::State::retrying) {
            wake_at(e->cancelled ? now : e->retry_at);
          } else if (e->state == ScriptExecution::State::running) {
            if (e->process->pidfd() >= 0) {
              fds.push_back({e->process->pidfd(), POLLIN, 0});
            } else {
              wake_at(now + kFallbackPoll);
            }
            wake_at(e->kill_at ? *e->kill_at : e->deadline);
          }
        }
      }
      const int ready = ::poll(fds.data(), fds.size(), timeout_ms);
      if (ready < 0 && errno != EINTR) std::this_thread::sleep_for(kFallbackPoll);
      std::uint64_t drained = 0;
      [[maybe_unused]] const auto n = ::read(wake_fd, &drained, sizeof drained);

      std::vector<std::unique_ptr<ScriptExecution>> finished;
      std::vector<ScriptExecution*> to_time_out;
      std::vector<ScriptExecution*> to_start;
      {
        std::lock_guard lock(mutex);
        if (stopping) return;
        const auto now = steady_clock::now();
        for (auto it = executions.begin(); it != executions.end();) {
          auto& e = *it->second;
          const bool done = e.state == ScriptExecution::State::failed_to_start ||
                            (e.state == ScriptExecution::State::retrying && e.cancelled) ||
                            (e.state == ScriptExecution::State::running && e.process->has_exited());
          if (done) {
            if (e.process) {
              // The leader is a zombie until reaped, so its group id is
              // still ours: take down whatever the script left running in
              // the group. Both calls return at once: it has exited.
              e.process->signal_group(SIGKILL);
              const auto wait_status = e.process->reap();
              // Kept before the execution leaves `executions`, so that no
              // poll finds neither and reports it interrupted.
              if (wait_status && !e.cancelled && !e.dir.has(work_files::kExitStatus)) {
                unrecorded[e.id] = {exit_code_of(*wait_status), e.timed_out};
              }
            }
            finished.push_back(std::move(it->second));
            it = executions.erase(it);
            --slots_used;
            continue;
          }
          if (e.state == ScriptExecution::State::retrying && now >= e.retry_at) {
            e.state = ScriptExecution::State::starting;
            to_start.push_back(&e);
          }
          if (e.state == ScriptExecution::State::running) {
            if (!e.timed_out && now >= e.deadline) {
              e.timed_out = true;
              e.kill_at = now + options.kill_grace;
              to_time_out.push_back(&e);
            } else if (e.kill_at && now >= *e.kill_at) {
              e.process->signal_group(SIGKILL);
              e.kill_at.reset();
            }
          }
          ++it;
        }
        std::erase_if(taken_over, [&](const auto& script) {
          if (group_is_ours(script.second, options.executions_dir / script.first)) return false;
          --slots_used;
          return true;
        });
        while (slots_used < options.max_concurrent && !queue.empty()) {
          auto found = executions.find(queue.front());
          queue.pop_front();
          if (found == executions.end()) continue;
          if (found->second->cancelled) {
            if (!options.keep_work_dirs) remove_work_dir(found->second->dir);
            executions.erase(found);
            continue;
          }
          found->second->state = ScriptExecution::State::starting;
          ++slots_used;
          to_start.push_back(found->second.get());
        }
      }
      // Only this thread erases executions, so the pointers stay valid.
      for (auto* e : to_time_out) {
        try {
          e->dir.write(work_files::kTimedOut, std::to_string(unix_ms(system_clock::now())));
        } catch (const std::exception&) {
          // Killing matters more than the marker.
        }
        e->process->signal_group(SIGTERM);
      }
      for (auto& e : finished) {
        if (!e->cancelled) {
          report(*e, outcome_without_file(e->id));
        } else if (!options.keep_work_dirs) {
          remove_work_dir(e->dir);  // its outcome is already delivered: nothing to keep
        }
      }
      for (auto* e : to_start) launch(*e);
      write_unrecorded();
      retry_reports();
      if (steady_clock::now() >= next_abandoned_check) remove_abandoned_directories();
    }
  }

  // Writes the outcomes kept in memory into their directories once these
  // take writes again (a disk that was full), so that a restart before
  // their delivery does not report them interrupted.
  void write_unrecorded() {
    std::vector<std::pair<std::string, ReapedOutcome>> pending;
    {
      std::lock_guard lock(mutex);
      const auto now = steady_clock::now();
      if (unrecorded.empty() || now < next_unrecorded_write) return;
      next_unrecorded_write = now + kUnrecordedRetry;
      pending.assign(unrecorded.begin(), unrecorded.end());
    }
    for (const auto& [id, outcome] : pending) {
      const ExecutionDirectory dir(options.executions_dir / id);
      {
        std::lock_guard lock(mutex);
        if (!unrecorded.contains(id)) continue;  // delivered meanwhile: its directory is going
        being_written = id;
      }
      bool written = true;
      try {
        if (outcome.timed_out && !dir.has(work_files::kTimedOut)) {
          dir.write(work_files::kTimedOut, std::to_string(unix_ms(system_clock::now())));
        }
        dir.write(work_files::kExitStatus, std::to_string(outcome.exit_code));
      } catch (const std::exception&) {
        written = false;  // still full: next time
      }
      {
        std::lock_guard lock(mutex);
        being_written.clear();
        if (written) unrecorded.erase(id);
      }
      written_cv.notify_all();
    }
  }

  // Waits until the monitor is not writing into `id`'s directory, so that a
  // delivery removes it whole, never while a file is being renamed into it.
  // Called with the lock held.
  void wait_for_write(std::unique_lock<std::mutex>& lock, const std::string& id) {
    written_cv.wait(lock, [&] { return being_written != id; });
  }

  const Options& options;
  std::function<ChildProcess(const SpawnSpec&)> spawner;
  std::string path;
  std::string home;
  std::string lang;

  mutable std::mutex mutex;
  std::unordered_map<std::string, std::unique_ptr<ScriptExecution>> executions;
  std::deque<std::string> queue;
  std::unordered_map<std::string, pid_t> taken_over;  // running since before a restart
  // Ended without `exit_status`, until delivered (lost with this process).
  std::unordered_map<std::string, ReapedOutcome> unrecorded;
  steady_clock::time_point next_unrecorded_write{};
  std::string being_written;           // the id write_unrecorded is writing now, if any
  std::condition_variable written_cv;  // being_written changed
  // Ended, but their files could not be read to report them (see `report`).
  std::unordered_map<std::string, std::shared_ptr<sdk::ExecutionReporter>> unreported;
  steady_clock::time_point next_report_retry{};
  // Executions whose unreadable file was logged (see `note_unreadable`).
  std::unordered_set<std::string> unreadable_logged;
  steady_clock::time_point next_abandoned_check{};
  std::size_t slots_used = 0;  // starting + running + taken over
  bool stopping = false;
  int wake_fd = -1;
  std::thread monitor;
};

ScriptDriver::ScriptDriver(Options options)
    : ScriptDriver(std::move(options), ChildProcess::spawn) {}

ScriptDriver::ScriptDriver(Options options, std::function<ChildProcess(const SpawnSpec&)> spawner)
    : options_(std::move(options)) {
  if (options_.executions_dir.empty()) {
    throw std::invalid_argument("script driver options: executions_dir must not be empty");
  }
  if (options_.default_timeout.count() <= 0) {
    throw std::invalid_argument("script driver options: default_timeout must be > 0");
  }
  if (options_.max_concurrent == 0) {
    throw std::invalid_argument("script driver options: max_concurrent must be > 0");
  }
  if (options_.stderr_tail_bytes == 0) {
    throw std::invalid_argument("script driver options: stderr_tail_bytes must be > 0");
  }
  if (options_.shell.empty() || options_.shell.front() != '/') {
    throw std::invalid_argument("script driver options: shell must be an absolute path");
  }
  if (options_.kill_grace.count() < 0) {
    throw std::invalid_argument("script driver options: kill_grace must be >= 0");
  }
  if (options_.abandoned_after.count() <= 0) {
    throw std::invalid_argument("script driver options: abandoned_after must be > 0");
  }
  if (const std::error_code error = files::create_private_directory(options_.executions_dir)) {
    throw std::system_error(error,
                            "script driver: cannot create " + options_.executions_dir.string());
  }
  // Canonical, so that it compares equal to /proc/<pid>/cwd.
  options_.executions_dir = fs::canonical(options_.executions_dir);
  // Find directories left by a previous host process belong to calls nobody
  // can answer any more, and hold credentials: remove them.
  remove_work_dir(ExecutionDirectory(options_.executions_dir / kFindDir));
  impl_ = std::make_unique<Impl>(options_, std::move(spawner));
}

ScriptDriver::~ScriptDriver() = default;

sdk::LifecycleExecuteResponse ScriptDriver::execute_lifecycle(
    const sdk::ExecuteLifecycleRequest& request, sdk::CallContext& context) {
  if (!request.driver_files.valid()) {
    throw sdk::InvalidDriverFilesError("script driver: the request has no driver files");
  }
  const ScriptCatalog catalog(request.driver_files, options_.shell);
  const ScriptCommand& command = catalog.lifecycle(request.lifecycle_name);

  std::string id = sdk::new_time_ordered_id();
  ExecutionDirectory dir(options_.executions_dir / id);
  auto e = std::make_unique<ScriptExecution>(std::move(id), request.lifecycle_name, std::move(dir));
  e->timeout = command.timeout ? milliseconds(*command.timeout) : options_.default_timeout;
  e->reporter = request.reporter;
  e->files = request.driver_files;

  bj::object document;
  document["requestId"] = e->id;
  document["lifecycleName"] = request.lifecycle_name;
  document["systemProperties"] = sdk::json::encode(request.system_properties);
  document["resourceProperties"] = sdk::json::encode(request.resource_properties);
  document["requestProperties"] = sdk::json::encode(request.request_properties);
  document["associatedTopology"] = sdk::json::encode(request.associated_topology);
  document["deploymentLocation"] = sdk::json::encode(request.deployment_location);
  bj::object record;
  record["lifecycleName"] = request.lifecycle_name;
  record["timeoutMs"] = e->timeout.count();
  try {
    e->dir.create();
    e->dir.write(work_files::kRequest, bj::serialize(document));
    e->dir.write(work_files::kExecution, bj::serialize(record));
  } catch (const std::exception& error) {
    // The host's own disk (full, read-only...), not the target: retry later.
    remove_work_dir(e->dir);
    throw sdk::TemporaryHostError(
        std::string("script driver: cannot prepare the working directory: ") + error.what());
  }
  e->spec = impl_->spawn_spec(e->dir, request.driver_files, command, request.lifecycle_name, e->id);

  sdk::LifecycleExecuteResponse response;
  response.request_id = e->id;
  response.reports_completion = request.reporter != nullptr;
  ScriptExecution* start = nullptr;
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->slots_used < options_.max_concurrent && impl_->queue.empty()) {
      e->state = ScriptExecution::State::starting;
      ++impl_->slots_used;
      start = e.get();
    } else {
      impl_->queue.push_back(e->id);
    }
    impl_->executions.emplace(e->id, std::move(e));
  }
  if (start != nullptr) {
    impl_->launch(*start);
    context.debug("script driver: started " + command.origin + " as request " + response.request_id,
                  {{"requestId", response.request_id}, {"script", command.origin}});
  } else {
    context.debug("script driver: queued " + command.origin + " as request " + response.request_id,
                  {{"requestId", response.request_id}, {"script", command.origin}});
  }
  return response;
}

sdk::LifecycleExecution ScriptDriver::get_lifecycle_execution(
    std::string_view request_id, const sdk::DeploymentLocation& /*location*/,
    sdk::CallContext& context) {
  const std::string id(request_id);
  // Request ids are our own lower-case UUIDs; anything else is refused before
  // it gets near a path (no "../" games).
  if (!sdk::is_canonical_uuid(id)) {
    throw sdk::RequestNotFoundError("script driver: request \"" + sanitize_utf8(id) +
                                    "\" not found (not a request id of this driver)");
  }
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->executions.count(id) != 0) return sdk::LifecycleExecution::in_progress(id);
  }
  const ExecutionDirectory dir(options_.executions_dir / id);
  if (!dir.exists()) {
    throw sdk::RequestNotFoundError("script driver: request \"" + id + "\" not found");
  }
  try {
    auto state = read_state(id, dir, options_, true, impl_->outcome_without_file(id));
    impl_->forget_unreadable(id);
    return state;
  } catch (const UnreadableFileError& error) {
    // The host's trouble (out of descriptors, an I/O error): poll again.
    impl_->note_unreadable(id, error, &context);
    throw sdk::TemporaryHostError(std::string("script driver: ") + error.what());
  }
}

sdk::FindReferenceResponse ScriptDriver::find_reference(const sdk::FindReferenceRequest& request,
                                                        sdk::CallContext& context) {
  if (!request.driver_files.valid()) {
    throw sdk::InvalidDriverFilesError("script driver: the request has no driver files");
  }
  const ScriptCatalog catalog(request.driver_files, options_.shell);
  if (!catalog.find()) {
    context.debug("script driver: the package has no Find script; nothing found");
    return {};
  }
  const ScriptCommand& command = *catalog.find();
  const std::string id = sdk::new_time_ordered_id();
  const fs::path find_root = options_.executions_dir / kFindDir;
  const ExecutionDirectory dir(find_root / id);
  struct Cleanup {
    const ExecutionDirectory& dir;
    bool keep;
    ~Cleanup() {
      if (!keep) remove_work_dir(dir);
    }
  } cleanup{dir, options_.keep_work_dirs};

  bj::object document;
  document["requestId"] = id;
  document["lifecycleName"] = kFindLifecycle;
  document["instanceName"] = request.instance_name;
  document["deploymentLocation"] = sdk::json::encode(request.deployment_location);
  std::optional<ChildProcess> child;
  try {
    files::create_private_directory(find_root);  // when it fails, so does create()
    dir.create();
    dir.write(work_files::kRequest, bj::serialize(document));
    child = ChildProcess::spawn(
        impl_->spawn_spec(dir, request.driver_files, command, kFindLifecycle, id));
  } catch (const std::exception& error) {
    // The host's own trouble (a full disk, no process left), not the target's.
    throw sdk::TemporaryHostError(std::string("script driver: cannot start the Find script: ") +
                                  error.what());
  }
  // Stopped before the child is reaped, so it never signals a recycled id.
  FindWatchdog watchdog(child->pid(), dir.path(), impl_->path, context);

  const milliseconds timeout =
      command.timeout ? milliseconds(*command.timeout) : options_.default_timeout;
  const auto deadline = std::min(context.deadline(), steady_clock::now() + timeout);
  if (!child->wait_until(deadline)) {
    child->signal_group(SIGTERM);
    if (!child->wait_until(steady_clock::now() + options_.kill_grace)) {
      child->signal_group(SIGKILL);
    }
    watchdog.stop();
    child->reap();
    const bool own_timeout = context.deadline() > steady_clock::now();
    throw sdk::ResourceDriverError(with_stderr_tail(
        own_timeout ? "script driver: Find timed out after " + format_duration(timeout)
                    : std::string("script driver: Find did not finish before the call's deadline"),
        dir, options_.stderr_tail_bytes));
  }
  child->signal_group(SIGKILL);  // leftovers of the script, if any
  watchdog.stop();
  const auto wait_status = child->reap();
  dir.reclaim();  // a script may have locked it

  try {
    std::optional<std::int64_t> exit_code;
    if (auto text = dir.read(work_files::kExitStatus)) exit_code = parse_int(*text);
    if (!exit_code && wait_status) exit_code = exit_code_of(*wait_status);
    if (!exit_code) throw sdk::ResourceDriverError("script driver: Find ended without exit status");
    if (*exit_code != 0) {
      const std::string tail =
          stderr_tail(masked_stderr(dir, options_.stderr_tail_bytes), options_.stderr_tail_bytes);
      throw sdk::ResourceDriverError(
          "script driver: Find failed with exit code " + std::to_string(*exit_code) +
          (tail.empty() ? std::string(" (nothing on stderr)") : ": " + tail));
    }
    sdk::FindReferenceResponse response;
    response.result = find_result(read_result_file(dir));
    return response;
  } catch (const UnreadableFileError& error) {
    // What the Find said is unknown, not "nothing": the host's trouble.
    throw sdk::TemporaryHostError(std::string("script driver: the Find script ended, but ") +
                                  error.what());
  }
}

void ScriptDriver::on_execution_delivered(std::string_view request_id,
                                          const sdk::DeploymentLocation& /*location*/,
                                          sdk::CallContext& /*context*/) {
  if (!sdk::is_canonical_uuid(request_id)) return;
  const std::string id(request_id);
  {
    std::unique_lock lock(impl_->mutex);
    impl_->wait_for_write(lock, id);
    impl_->unrecorded.erase(id);
    impl_->unreported.erase(id);
    impl_->unreadable_logged.erase(id);
    if (auto it = impl_->executions.find(id); it != impl_->executions.end()) {
      // Still queued or running, yet its outcome was delivered: the host gave
      // up on it (its total deadline). The orchestrator was told it failed,
      // so it must not go on: time it out now (the group is killed).
      it->second->cancelled = true;
      it->second->deadline = steady_clock::now();
      impl_->wake();
      return;
    }
  }
  const ExecutionDirectory dir(options_.executions_dir / id);
  // Taken over after a restart and still running, yet delivered: the host
  // gave up on it, as above. Its group is stopped here: no poll comes again.
  const pid_t pgid = recorded_group(dir);
  if (group_is_ours(pgid, dir.path())) {
    signal_process_group(pgid, SIGTERM);
    const auto give_up = steady_clock::now() + options_.kill_grace;
    while (group_is_ours(pgid, dir.path()) && steady_clock::now() < give_up) {
      std::this_thread::sleep_for(milliseconds(50));
    }
    if (group_is_ours(pgid, dir.path())) signal_process_group(pgid, SIGKILL);
  }
  const bool gone = kill_leftovers(pgid, dir.path());
  if (options_.keep_work_dirs) return;
  if (!gone) {
    // Removing it now could race their last writes.
    logging::logger("driver." + std::string(kDriverName))
        ->warn(
            "script driver: {} is kept for now: processes of its script still run there {} ms "
            "after SIGKILL; the hourly sweep removes it once they are gone and it has not "
            "changed for {} s",
            dir.path().string(), kLeftoversExitWait.count(),
            std::chrono::duration_cast<std::chrono::seconds>(options_.abandoned_after).count());
    return;
  }
  remove_work_dir(dir);
}

std::size_t ScriptDriver::running() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->slots_used;
}

std::size_t ScriptDriver::queued() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->queue.size();
}

}  // namespace flint::drivers::script
