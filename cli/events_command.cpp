#include "events_command.hpp"

#include <cstdint>
#include <limits>
#include <ostream>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "exit_status.hpp"
#include "flint_api.hpp"
#include "http_client.hpp"
#include "integer_option.hpp"
#include "interrupt.hpp"
#include "json_output.hpp"

namespace flint::cli {
namespace {

constexpr std::size_t kPageSize = 100;
constexpr std::chrono::seconds kFollowWait{20};

}  // namespace

CLI::App* add_events_command(CLI::App& app, EventsOptions& options) {
  auto* cmd = app.add_subcommand("events",
                                 "Print the server's events, one JSON line each (GET /api/events)");
  auto* after = cmd->add_option("--after", options.after,
                                "Print events with a sequence number greater than this")
                    ->check(integer_from(0, std::numeric_limits<std::int64_t>::max(), "SEQ"))
                    ->capture_default_str();
  cmd->add_option("--after-id", options.after_id,
                  "The id of the event at --after: the server refuses to go on (409) when its "
                  "log holds another one there (restored from a backup, or replaced)")
      ->needs(after);
  cmd->add_flag("-f,--follow", options.follow, "Keep waiting for new events (Ctrl-C ends)");
  add_server_access_options(*cmd, options.server);
  return cmd;
}

int run_events_command(const EventsOptions& options, std::ostream& out, std::ostream& err) {
  if (!options.after_id.empty() && options.after == 0) {
    // No event has sequence number 0: there is nothing for the id to match.
    err << "flint: --after-id: needs --after with the sequence number of that event (1 or more)\n";
    return kExitError;
  }
  try {
    HttpClient http = connect(options.server, err);
    FlintApi api(http);
    if (options.follow) exit_on_interrupt(kExitSuccess, nullptr);
    EventLogPosition after{options.after, options.after_id};
    while (true) {
      const auto wait = options.follow ? kFollowWait : std::chrono::seconds(0);
      auto page = api.events(after, kPageSize, wait);
      {
        // A Ctrl-C waits for the page to be printed: no half lines.
        DeferInterrupt defer;
        for (const Event& event : page.events) out << compact_json(event.raw) << "\n";
        out << std::flush;
      }
      EventLogPosition next = page.next(after);
      if (!options.follow && (page.events.empty() || next.seq == after.seq)) return kExitSuccess;
      after = std::move(next);
    }
  } catch (const std::exception& e) {
    err << "flint: " << e.what() << "\n";
    return kExitError;
  }
}

}  // namespace flint::cli
