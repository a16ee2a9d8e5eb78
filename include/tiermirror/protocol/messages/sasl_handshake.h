#pragma once
// SaslHandshake (key 17), version 1 only: the client names its mechanism, the broker answers
// with the mechanisms it has enabled; the SASL tokens then travel in SaslAuthenticate
// (KIP-152). v0 sent raw, unframed tokens afterwards and is not spoken.
#include <cstdint>
#include <string>
#include <vector>

#include "tiermirror/protocol/api.h"
#include "tiermirror/protocol/primitives.h"

namespace tiermirror::protocol {

struct SaslHandshakeRequest {
  static constexpr ApiKey kApi = ApiKey::sasl_handshake;
  std::string mechanism;  // "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"

  void encode(Writer& w, int16_t version) const;
  static SaslHandshakeRequest decode(Reader& r, int16_t version);
  bool operator==(const SaslHandshakeRequest&) const = default;
};

struct SaslHandshakeResponse {
  static constexpr ApiKey kApi = ApiKey::sasl_handshake;
  int16_t error_code = 0;
  std::vector<std::string> mechanisms;  // the broker's enabled mechanisms

  void encode(Writer& w, int16_t version) const;
  static SaslHandshakeResponse decode(Reader& r, int16_t version);
  bool operator==(const SaslHandshakeResponse&) const = default;
};

}  // namespace tiermirror::protocol
