#pragma once

/// @file
/// Which rows of the outbox every event publisher has (header-only: the
/// store's writers use it to delete them and to stamp their records).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "store/sqlite_database.hpp"

namespace flint::events {

/// The outbox rows every publisher has: those up to `through`, except the
/// rows of each held-back topic from its first undelivered one on.
struct DeliveredRows {
  std::int64_t through = 0;
  /// Per held-back topic, the seq of its first row not delivered yet.
  std::vector<std::pair<std::string, std::int64_t>> held;

  /// An SQL condition on the `seq` and `topic` columns of `outbox`, true of
  /// the delivered rows; its parameters are numbered from `?first` on.
  std::string condition(int first) const {
    std::string sql = fmt::format("seq <= ?{}", first);
    for (std::size_t i = 0; i < held.size(); ++i) {
      const int topic = first + 1 + 2 * static_cast<int>(i);
      sql += fmt::format(" AND NOT (topic = ?{} AND seq >= ?{})", topic, topic + 1);
    }
    return sql;
  }

  /// Binds the parameters of `condition(first)`.
  void bind(store::Statement& statement, int first) const {
    statement.bind(first, through);
    for (std::size_t i = 0; i < held.size(); ++i) {
      const int topic = first + 1 + 2 * static_cast<int>(i);
      statement.bind(topic, held[i].first).bind(topic + 1, held[i].second);
    }
  }
};

}  // namespace flint::events
