#pragma once
// SASL mechanisms as sans-I/O state machines: they take the server's messages and return the
// client's, and never touch a socket (the Connection carries the tokens in SaslAuthenticate).
//
// PLAIN is RFC 4616. SCRAM-SHA-256 / SCRAM-SHA-512 are RFC 5802 with the hashes of RFC 7677
// (Kafka: KIP-84), without channel binding ("n,,") and without SASLprep (as Kafka's own
// client: passwords are used as their UTF-8 bytes). The password is held only as long as the
// exchange needs it and wiped afterwards; no error or message here ever contains it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "tiermirror/common/buffer.h"
#include "tiermirror/common/result.h"

namespace tiermirror::net {

enum class SaslMechanism { plain, scram_sha_256, scram_sha_512 };
/// Kafka's names: "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512".
std::string_view mechanism_name(SaslMechanism m);

/// PLAIN's one message: authzid NUL authcid NUL passwd, with an empty authzid (the broker
/// then authorizes as the authenticated user).
Bytes plain_initial_response(std::string_view username, std::string_view password);

/// RFC 5802 saslname: ',' as "=2C" and '=' as "=3D".
std::string scram_escape_username(std::string_view username);

/// Overwrites a secret in place (not optimised away) and clears it.
void wipe(std::string& secret);
void wipe(Bytes& secret);

class ScramClient {
 public:
  enum class Hash { sha256, sha512 };
  /// RFC 7677 asks for at least 4096 iterations; Kafka's broker refuses fewer too. A server
  /// offering fewer is refused (a downgrade of the password's protection).
  static constexpr int kMinIterations = 4096;
  static constexpr int kMaxIterations = 1 << 20;  // bounds the CPU a hostile server can cost us

  /// `nonce` empty: 24 random bytes, base64 (printable, no ','). Tests pass RFC vectors' nonces.
  ScramClient(Hash hash, std::string username, std::string password, std::string nonce = {});
  ~ScramClient();
  ScramClient(const ScramClient&) = delete;
  ScramClient& operator=(const ScramClient&) = delete;

  /// "n,,n=<saslname>,r=<client nonce>".
  std::string client_first();
  /// Takes server-first ("r=...,s=...,i=..."), returns client-final with the proof. Errors:
  /// errc::malformed (unparsable), kafka_errc::sasl_authentication_failed (nonce not
  /// extending ours, too few iterations). The password is wiped once the keys are derived.
  Result<std::string> client_final(std::string_view server_first);
  /// Checks server-final: "v=<ServerSignature>" must match what the password implies (the
  /// server proves it knows the credential); "e=<error>" is the server's refusal.
  std::error_code verify_server_final(std::string_view server_final);

  /// Why the last step failed, for a log line or an error message (never holds a secret).
  const std::string& error_detail() const { return detail_; }

 private:
  Hash hash_;
  std::string username_, password_, nonce_;
  std::string client_first_bare_;
  Bytes server_signature_;  // expected, computed in client_final
  std::string detail_;
};

}  // namespace tiermirror::net
