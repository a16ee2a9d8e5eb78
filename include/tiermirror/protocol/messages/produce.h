#pragma once
// Produce (key 0), versions 3-7 (Kafka 4.0 rejects v0-2 even where it advertises them).
// A partition's records are scatter-gather segments written with Writer::external_bytes:
// the pipeline sends a rewritten 61-byte batch header and the untouched payload of the
// fetched batch as two segments, so payload bytes are never copied.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tiermirror/common/buffer.h"
#include "tiermirror/protocol/api.h"
#include "tiermirror/protocol/primitives.h"

namespace tiermirror::protocol {

struct ProduceRequest {
  static constexpr ApiKey kApi = ApiKey::produce;
  struct Partition {
    int32_t index = 0;
    /// Segments whose concatenation is the record set. Empty = null records. Decoding
    /// yields one slice into the frame.
    std::vector<BufferSlice> records;
    /// Compares the concatenated record BYTES, however they are cut into segments.
    bool operator==(const Partition& o) const;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
    bool operator==(const Topic&) const = default;
  };

  std::optional<std::string> transactional_id;  // v3+
  int16_t acks = -1;
  int32_t timeout_ms = 30000;
  std::vector<Topic> topics;

  void encode(Writer& w, int16_t version) const;
  static ProduceRequest decode(Reader& r, int16_t version);
  bool operator==(const ProduceRequest&) const = default;
};

struct ProduceResponse {
  static constexpr ApiKey kApi = ApiKey::produce;
  struct Partition {
    int32_t index = 0;
    int16_t error_code = 0;
    int64_t base_offset = 0;
    int64_t log_append_time_ms = -1;  // v2+
    int64_t log_start_offset = -1;    // v5+
    bool operator==(const Partition&) const = default;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
    bool operator==(const Topic&) const = default;
  };

  std::vector<Topic> topics;  // "Responses" in Kafka's schema
  int32_t throttle_time_ms = 0;  // v1+, after the topics

  void encode(Writer& w, int16_t version) const;
  static ProduceResponse decode(Reader& r, int16_t version);
  bool operator==(const ProduceResponse&) const = default;
};

}  // namespace tiermirror::protocol
