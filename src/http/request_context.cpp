#include "http/request_context.hpp"

#include <algorithm>
#include <cerrno>

#include <arpa/inet.h>
#include <boost/beast/core/string.hpp>
#include <netinet/in.h>
#include <sys/socket.h>

namespace flint::http {

RequestContext RequestContext::from(const Request& request) {
  RequestContext context;
  static constexpr std::string_view kTracePrefix = "x-tracectx-";
  for (const auto& field : request) {
    const std::string_view name = field.name_string();
    // Header names are ASCII: Beast's comparisons skip the std::locale that Boost.Algorithm's
    // would construct for every field of every request.
    if (name.size() > kTracePrefix.size() &&
        boost::beast::iequals(name.substr(0, kTracePrefix.size()), kTracePrefix)) {
      std::string key = "tracectx.";
      for (const char c : name.substr(kTracePrefix.size())) {
        key += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
      }
      // A repeated field is one list (RFC 9110, 5.3): both formats log it whole.
      auto same =
          std::ranges::find(context.log_fields, key, &logging::LogFields::value_type::first);
      if (same != context.log_fields.end()) {
        same->second.append(", ").append(field.value());
      } else {
        context.log_fields.emplace_back(std::move(key), std::string(field.value()));
      }
    } else if (boost::beast::iequals(name, "tenantId")) {
      context.tenant_id = std::string(field.value());
    }
  }
  if (!context.tenant_id.empty()) context.log_fields.emplace_back("tenantId", context.tenant_id);
  const std::string_view target = request.target();
  context.path = target.substr(0, target.find('?'));
  return context;
}

bool RequestContext::peer_closed() const {
  if (peer_socket < 0) return false;
  // The end of the client's stream, even behind unread bytes (a TLS
  // client's close_notify): a peek would see those bytes first.
  pollfd entry{.fd = peer_socket, .events = POLLRDHUP, .revents = 0};
  return ::poll(&entry, 1, 0) > 0 && (entry.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

std::string RequestContext::peer_address() const {
  sockaddr_storage address{};
  socklen_t size = sizeof address;
  if (peer_socket < 0 ||
      ::getpeername(peer_socket, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    return "an unknown client";
  }
  char text[INET6_ADDRSTRLEN] = {};
  const void* host = nullptr;
  if (address.ss_family == AF_INET) host = &reinterpret_cast<const sockaddr_in&>(address).sin_addr;
  if (address.ss_family == AF_INET6) {
    host = &reinterpret_cast<const sockaddr_in6&>(address).sin6_addr;
  }
  if (host == nullptr || ::inet_ntop(address.ss_family, host, text, sizeof text) == nullptr) {
    return "an unknown client";
  }
  return text;
}

}  // namespace flint::http
