#include <iostream>
#include <utility>

#include <flint/sdk/testing/conformance.hpp>

namespace flint::sdk::testing {
namespace {

std::string_view level_name(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::trace:
      return "trace";
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warn:
      return "warn";
    case LogLevel::error:
      return "error";
  }
  return "info";
}

}  // namespace

void TestLog::add(LogLevel level, std::string_view message, std::span<const LogField> fields) {
  Record record{level, std::string(message), {}};
  for (const LogField& field : fields) record.fields.emplace_back(field.name, field.value);
  std::lock_guard lock(mutex_);
  if (echo_) {
    std::cerr << "[driver " << level_name(level) << "] " << message;
    for (const auto& [name, value] : record.fields) std::cerr << ' ' << name << '=' << value;
    std::cerr << '\n';
  }
  records_.push_back(std::move(record));
}

std::vector<TestLog::Record> TestLog::records() const {
  std::lock_guard lock(mutex_);
  return records_;
}

std::string TestLog::text(std::size_t max_lines) const {
  std::lock_guard lock(mutex_);
  std::string text;
  const std::size_t first = records_.size() > max_lines ? records_.size() - max_lines : 0;
  if (first > 0) text += "(" + std::to_string(first) + " earlier lines left out)\n";
  for (std::size_t i = first; i < records_.size(); ++i) {
    text.append("[").append(level_name(records_[i].level)).append("] ");
    text.append(records_[i].message);
    for (const auto& [name, value] : records_[i].fields) {
      text.append(" ").append(name).append("=").append(value);
    }
    text.append("\n");
  }
  return text;
}

TestCallContext::TestCallContext(std::chrono::milliseconds timeout, std::shared_ptr<TestLog> log,
                                 std::string tenant_id)
    : tenant_id_(std::move(tenant_id)),
      trace_{{"transactionid", "flint-conformance"}},
      deadline_(std::chrono::steady_clock::now() + timeout),
      log_(std::move(log)) {}

void TestCallContext::write_log(LogLevel level, std::string_view message,
                                std::span<const LogField> fields) {
  if (log_) log_->add(level, message, fields);
}

}  // namespace flint::sdk::testing
