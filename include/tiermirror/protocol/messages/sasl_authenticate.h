#pragma once
// SaslAuthenticate (key 36), versions 0-2: one SASL token each way (KIP-152). v1 adds the
// session lifetime the broker grants (KIP-368: re-authenticate before it ends); v2 is
// flexible.
#include <cstdint>
#include <optional>
#include <string>

#include "tiermirror/common/buffer.h"
#include "tiermirror/protocol/api.h"
#include "tiermirror/protocol/primitives.h"

namespace tiermirror::protocol {

struct SaslAuthenticateRequest {
  static constexpr ApiKey kApi = ApiKey::sasl_authenticate;
  Bytes auth_bytes;  // may hold a credential: never log it

  void encode(Writer& w, int16_t version) const;
  static SaslAuthenticateRequest decode(Reader& r, int16_t version);
  bool operator==(const SaslAuthenticateRequest&) const = default;
};

struct SaslAuthenticateResponse {
  static constexpr ApiKey kApi = ApiKey::sasl_authenticate;
  int16_t error_code = 0;
  std::optional<std::string> error_message;
  Bytes auth_bytes;
  int64_t session_lifetime_ms = 0;  // v1+; 0 = the session does not expire

  void encode(Writer& w, int16_t version) const;
  static SaslAuthenticateResponse decode(Reader& r, int16_t version);
  bool operator==(const SaslAuthenticateResponse&) const = default;
};

}  // namespace tiermirror::protocol
