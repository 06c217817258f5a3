#pragma once

/// @file
/// `flint executions`: the executions a server monitors now, or the record
/// of one execution.

#include <chrono>
#include <cstddef>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "server_access.hpp"

namespace CLI {
class App;
}

namespace flint::cli {

/// Options of `flint executions`.
struct ExecutionsOptions {
  /// Show this execution's record; empty = list the executions in flight.
  std::string request_id;
  /// List at most this many records.
  std::size_t limit = 1000;
  /// One JSON line per record instead of a table.
  bool json = false;
  /// How to reach the server (`--url`, `--token-file`, `--cacert`).
  ServerAccess server;
};

/// Adds the `executions` subcommand to `app`, parsing into `options` (which
/// must outlive the parse). Returns the subcommand.
CLI::App* add_executions_command(CLI::App& app, ExecutionsOptions& options);

/// Runs `flint executions`. Without a request id: the records of
/// `GET /api/driver/lifecycle/executions`, page after page up to `limit`,
/// as a table (oldest first) or JSON lines; returns 0, or 2 on a connection
/// or API error. With one: that record
/// (`GET .../executions/{id}`); returns 0, 1 when the server knows no such
/// execution, 2 on an error.
int run_executions_command(const ExecutionsOptions& options, std::ostream& out, std::ostream& err);

/// The table of in-flight records: request id, lifecycle, driver, tenant,
/// acceptance time and age at `now`. Pure function.
std::string format_executions_table(const std::vector<boost::json::object>& records,
                                    std::chrono::system_clock::time_point now);

/// One record as `name: value` lines, the outcome's outputs and topology as
/// indented JSON. Pure function.
std::string format_execution_record(const boost::json::object& record);

/// A record's time (`2026-12-07T10:32:23.660Z`, as the server writes it), or
/// nullopt when `text` is not one.
std::optional<std::chrono::system_clock::time_point> parse_record_time(std::string_view text);

/// An age for people: `0s`, `42s`, `3m12s`, `2h05m`, `4d03h` (the two
/// largest units; negative ages, a clock skew, are `0s`).
std::string format_age(std::chrono::milliseconds age);

}  // namespace flint::cli
