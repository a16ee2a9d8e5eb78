#pragma once
// FindCoordinator (key 10), versions 0-2: one key per request (batched keys are v4+).
#include <cstdint>
#include <optional>
#include <string>

#include "tiermirror/protocol/api.h"
#include "tiermirror/protocol/primitives.h"

namespace tiermirror::protocol {

struct FindCoordinatorRequest {
  static constexpr ApiKey kApi = ApiKey::find_coordinator;
  static constexpr int8_t kGroup = 0;
  static constexpr int8_t kTransaction = 1;

  std::string key;
  int8_t key_type = kGroup;  // v1+

  void encode(Writer& w, int16_t version) const;
  static FindCoordinatorRequest decode(Reader& r, int16_t version);
  bool operator==(const FindCoordinatorRequest&) const = default;
};

struct FindCoordinatorResponse {
  static constexpr ApiKey kApi = ApiKey::find_coordinator;
  int32_t throttle_time_ms = 0;  // v1+
  int16_t error_code = 0;
  std::optional<std::string> error_message;  // v1+
  int32_t node_id = 0;
  std::string host;
  int32_t port = 0;

  void encode(Writer& w, int16_t version) const;
  static FindCoordinatorResponse decode(Reader& r, int16_t version);
  bool operator==(const FindCoordinatorResponse&) const = default;
};

}  // namespace tiermirror::protocol
