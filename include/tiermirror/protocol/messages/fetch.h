#pragma once
// Fetch (key 1), versions 4-11. Record data in the response is a BufferSlice into the
// received frame: nothing is copied between the socket and the batch views.
//
// Impl note: tiermirror never uses fetch sessions (KIP-227): session_id stays 0 and
// session_epoch -1 (a full fetch every time), forgotten_topics_data stays empty.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tiermirror/common/buffer.h"
#include "tiermirror/protocol/api.h"
#include "tiermirror/protocol/primitives.h"

namespace tiermirror::protocol {

struct FetchRequest {
  static constexpr ApiKey kApi = ApiKey::fetch;
  struct Partition {
    int32_t partition_index = 0;
    int32_t current_leader_epoch = -1;  // v9+
    int64_t fetch_offset = 0;
    int64_t log_start_offset = -1;  // v5+ (followers only)
    int32_t partition_max_bytes = 0;
    bool operator==(const Partition&) const = default;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
    bool operator==(const Topic&) const = default;
  };
  struct ForgottenTopic {  // v7+
    std::string name;
    std::vector<int32_t> partition_indexes;
    bool operator==(const ForgottenTopic&) const = default;
  };

  int32_t replica_id = -1;
  int32_t max_wait_ms = 0;
  int32_t min_bytes = 0;
  int32_t max_bytes = 0x7fffffff;
  int8_t isolation_level = 0;  // 1 = read_committed
  int32_t session_id = 0;      // v7+
  int32_t session_epoch = -1;  // v7+
  std::vector<Topic> topics;
  std::vector<ForgottenTopic> forgotten_topics_data;  // v7+
  std::string rack_id;                                // v11+

  void encode(Writer& w, int16_t version) const;
  static FetchRequest decode(Reader& r, int16_t version);
  bool operator==(const FetchRequest&) const = default;
};

struct FetchResponse {
  static constexpr ApiKey kApi = ApiKey::fetch;
  struct AbortedTransaction {
    int64_t producer_id = 0;
    int64_t first_offset = 0;
    bool operator==(const AbortedTransaction&) const = default;
  };
  struct Partition {
    int32_t partition_index = 0;
    int16_t error_code = 0;
    int64_t high_watermark = 0;
    int64_t last_stable_offset = -1;  // v4+
    int64_t log_start_offset = -1;    // v5+
    std::optional<std::vector<AbortedTransaction>> aborted_transactions;  // v4+, nullable
    int32_t preferred_read_replica = -1;                                  // v11+
    /// Zero-copy view into the response frame; a null record set decodes as empty.
    BufferSlice records;
    /// Compares the record BYTES, not where they live.
    bool operator==(const Partition& o) const;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
    bool operator==(const Topic&) const = default;
  };

  int32_t throttle_time_ms = 0;
  int16_t error_code = 0;  // v7+
  int32_t session_id = 0;  // v7+
  std::vector<Topic> topics;  // "Responses" in Kafka's schema

  void encode(Writer& w, int16_t version) const;
  static FetchResponse decode(Reader& r, int16_t version);
  bool operator==(const FetchResponse&) const = default;
};

}  // namespace tiermirror::protocol
