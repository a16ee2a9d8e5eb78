#pragma once
// ListOffsets (key 2), versions 1-5. timestamp -2 asks for the earliest offset, -1 for
// the latest (the high watermark, or the LSO with isolation_level 1).
#include <cstdint>
#include <string>
#include <vector>

#include "tiermirror/protocol/api.h"
#include "tiermirror/protocol/primitives.h"

namespace tiermirror::protocol {

struct ListOffsetsRequest {
  static constexpr ApiKey kApi = ApiKey::list_offsets;
  struct Partition {
    int32_t partition_index = 0;
    int32_t current_leader_epoch = -1;  // v4+
    int64_t timestamp = 0;
    bool operator==(const Partition&) const = default;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
    bool operator==(const Topic&) const = default;
  };

  int32_t replica_id = -1;
  int8_t isolation_level = 0;  // v2+
  std::vector<Topic> topics;

  void encode(Writer& w, int16_t version) const;
  static ListOffsetsRequest decode(Reader& r, int16_t version);
  bool operator==(const ListOffsetsRequest&) const = default;
};

struct ListOffsetsResponse {
  static constexpr ApiKey kApi = ApiKey::list_offsets;
  struct Partition {
    int32_t partition_index = 0;
    int16_t error_code = 0;
    int64_t timestamp = -1;    // v1+
    int64_t offset = -1;       // v1+
    int32_t leader_epoch = -1;  // v4+
    bool operator==(const Partition&) const = default;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
    bool operator==(const Topic&) const = default;
  };

  int32_t throttle_time_ms = 0;  // v2+
  std::vector<Topic> topics;

  void encode(Writer& w, int16_t version) const;
  static ListOffsetsResponse decode(Reader& r, int16_t version);
  bool operator==(const ListOffsetsResponse&) const = default;
};

}  // namespace tiermirror::protocol
