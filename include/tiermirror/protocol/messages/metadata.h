#pragma once
// Metadata (key 3), versions 1-2 (the librdkafka 2.0.2 mock stops at 2). From v1 a null
// topic array asks for all topics and an empty one for none.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tiermirror/protocol/api.h"
#include "tiermirror/protocol/primitives.h"

namespace tiermirror::protocol {

struct MetadataRequest {
  static constexpr ApiKey kApi = ApiKey::metadata;
  struct Topic {
    std::string name;
    bool operator==(const Topic&) const = default;
  };
  std::optional<std::vector<Topic>> topics;  // null = all topics

  void encode(Writer& w, int16_t version) const;
  static MetadataRequest decode(Reader& r, int16_t version);
  bool operator==(const MetadataRequest&) const = default;
};

struct MetadataResponse {
  static constexpr ApiKey kApi = ApiKey::metadata;
  struct Broker {
    int32_t node_id = 0;
    std::string host;
    int32_t port = 0;
    std::optional<std::string> rack;  // v1+
    bool operator==(const Broker&) const = default;
  };
  struct Partition {
    int16_t error_code = 0;
    int32_t partition_index = 0;
    int32_t leader_id = 0;
    std::vector<int32_t> replica_nodes;
    std::vector<int32_t> isr_nodes;
    bool operator==(const Partition&) const = default;
  };
  struct Topic {
    int16_t error_code = 0;
    std::string name;
    bool is_internal = false;  // v1+
    std::vector<Partition> partitions;
    bool operator==(const Topic&) const = default;
  };

  std::vector<Broker> brokers;
  std::optional<std::string> cluster_id;  // v2+
  int32_t controller_id = -1;             // v1+
  std::vector<Topic> topics;

  void encode(Writer& w, int16_t version) const;
  static MetadataResponse decode(Reader& r, int16_t version);
  bool operator==(const MetadataResponse&) const = default;
};

}  // namespace tiermirror::protocol
