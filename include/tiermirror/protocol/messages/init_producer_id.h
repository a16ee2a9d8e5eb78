#pragma once
// InitProducerId (key 22), versions 0-1: an idempotent (transactional_id null) or
// transactional producer id for the target cluster.
#include <cstdint>
#include <optional>
#include <string>

#include "tiermirror/protocol/api.h"
#include "tiermirror/protocol/primitives.h"

namespace tiermirror::protocol {

struct InitProducerIdRequest {
  static constexpr ApiKey kApi = ApiKey::init_producer_id;
  std::optional<std::string> transactional_id;
  int32_t transaction_timeout_ms = 0;

  void encode(Writer& w, int16_t version) const;
  static InitProducerIdRequest decode(Reader& r, int16_t version);
  bool operator==(const InitProducerIdRequest&) const = default;
};

struct InitProducerIdResponse {
  static constexpr ApiKey kApi = ApiKey::init_producer_id;
  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = 0;

  void encode(Writer& w, int16_t version) const;
  static InitProducerIdResponse decode(Reader& r, int16_t version);
  bool operator==(const InitProducerIdResponse&) const = default;
};

}  // namespace tiermirror::protocol
