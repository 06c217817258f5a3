#pragma once

/// @file
/// Responses whose body is produced over time (Server-Sent Events).

#include <functional>
#include <string_view>

#include <boost/asio/awaitable.hpp>

namespace flint::http {

/// Writes the parts of a streamed body. Valid only inside the `StreamBody`
/// it is given to; used only on the connection's executor.
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  /// Sends `bytes` to the client. Returns false when the client is gone or
  /// the write timed out; the stream should then end.
  virtual boost::asio::awaitable<bool> send(std::string_view bytes) = 0;
  /// False once the server is stopping: the stream should end soon (within
  /// a second or so) so that the stop is not held up.
  virtual bool open() const noexcept = 0;
};

/// A streamed body: run after the response head is written, on the
/// connection's executor. When it returns, the connection is closed.
using StreamBody = std::function<boost::asio::awaitable<void>(StreamWriter&)>;

}  // namespace flint::http
