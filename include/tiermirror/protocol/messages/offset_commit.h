#pragma once
// OffsetCommit (key 8), versions 2-7 (Kafka 4.0 dropped v0-1). tiermirror commits as a
// simple (non-member) group: generation_id -1 and an empty member_id.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tiermirror/protocol/api.h"
#include "tiermirror/protocol/primitives.h"

namespace tiermirror::protocol {

struct OffsetCommitRequest {
  static constexpr ApiKey kApi = ApiKey::offset_commit;
  struct Partition {
    int32_t partition_index = 0;
    int64_t committed_offset = 0;
    int32_t committed_leader_epoch = -1;  // v6+
    std::optional<std::string> committed_metadata;
    bool operator==(const Partition&) const = default;
  };
  struct Topic {
    std::string name;
    std::vector<Partition> partitions;
    bool operator==(const Topic&) const = default;
  };

  std::string group_id;
  int32_t generation_id = -1;                    // v1+
  std::string member_id;                         // v1+
  std::optional<std::string> group_instance_id;  // v7+
  int64_t retention_time_ms = -1;                // v2-4 only
  std::vector<Topic> topics;

  void encode(Writer& w, int16_t version) const;
  static OffsetCommitRequest decode(Reader& r, int16_t version);
  bool operator==(const OffsetCommitRequest&) const = default;
};

struct OffsetCommitResponse {
  static constexpr ApiKey kApi = ApiKey::offset_commit;
  struct Partition {
    int32_t partition_index = 0;
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

  void encode(Writer& w, int16_t version) const;
  static OffsetCommitResponse decode(Reader& r, int16_t version);
  bool operator==(const OffsetCommitResponse&) const = default;
};

}  // namespace tiermirror::protocol
