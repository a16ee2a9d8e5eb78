#pragma once
// OffsetFetch (key 9), versions 1-5 (Kafka 4.0 dropped v0). A null topic array (v2+)
// asks for every committed offset of the group; v1 cannot express it.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tiermirror/protocol/api.h"
#include "tiermirror/protocol/primitives.h"

namespace tiermirror::protocol {

struct OffsetFetchRequest {
  static constexpr ApiKey kApi = ApiKey::offset_fetch;
  struct Topic {
    std::string name;
    std::vector<int32_t> partition_indexes;
    bool operator==(const Topic&) const = default;
  };

  std::string group_id;
  /// null = all topics (v2+ only: encoding null at v1 is a caller bug, asserted in debug
  /// builds, and a null read at v1 is malformed).
  std::optional<std::vector<Topic>> topics;

  void encode(Writer& w, int16_t version) const;
  static OffsetFetchRequest decode(Reader& r, int16_t version);
  bool operator==(const OffsetFetchRequest&) const = default;
};

struct OffsetFetchResponse {
  static constexpr ApiKey kApi = ApiKey::offset_fetch;
  struct Partition {
    int32_t partition_index = 0;
    int64_t committed_offset = 0;  // -1: nothing committed
    int32_t committed_leader_epoch = -1;  // v5+
    std::optional<std::string> metadata;
    int16_t error_code = 0;
    bool operator==(const Partition&) const = default;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
    bool operator==(const Topic&) const = default;
  };

  int32_t throttle_time_ms = 0;  // v3+
  std::vector<Topic> topics;
  int16_t error_code = 0;  // v2+, after the topics

  void encode(Writer& w, int16_t version) const;
  static OffsetFetchResponse decode(Reader& r, int16_t version);
  bool operator==(const OffsetFetchResponse&) const = default;
};

}  // namespace tiermirror::protocol
