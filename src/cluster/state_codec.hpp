#pragma once

/// @file
/// The records of the shared execution-state topic, sealed.

#include <string>
#include <string_view>
#include <variant>

#include "security/credential_vault.hpp"
#include "service/execution_records.hpp"

namespace flint::cluster {

/// A record of the state topic: an execution accepted (a live job), or its end.
using StateRecord = std::variant<service::AcceptedExecution, service::ExecutionEnding>;

/// Encodes records for the state topic and decodes them back.
///
/// A record is JSON (`{"type":"accepted"|"ended", ...}`) sealed with
/// AES-256-GCM under the cluster key, with the record key (the request id)
/// as associated data, so that a record cannot be replayed under another
/// id; the value on the topic is the sealed bytes in base64. Deployment
/// locations, hence credentials, are inside: without the key the topic
/// tells nothing but request ids. Thread-safe.
class StateCodec {
 public:
  explicit StateCodec(security::CredentialVault key) : key_(key) {}

  /// The topic value of an accepted execution (key: its request id).
  std::string encode(const service::AcceptedExecution& execution) const;
  /// The topic value of an ending (key: its request id).
  std::string encode(const service::ExecutionEnding& ending) const;

  /// The fingerprint of the cluster key (`CredentialVault::key_id`): every
  /// node of a cluster shows the same one.
  std::string key_id() const { return key_.key_id(); }

  /// Decodes the record stored under `key`.
  /// @throws std::runtime_error naming what is wrong: not base64, sealed
  ///         under another key or for another id, or a malformed record.
  StateRecord decode(std::string_view key, std::string_view value) const;

 private:
  security::CredentialVault key_;
};

}  // namespace flint::cluster
