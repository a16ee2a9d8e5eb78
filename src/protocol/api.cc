#include "tiermirror/protocol/api.h"

#include <algorithm>

namespace tiermirror::protocol {

std::string_view api_name(ApiKey k) { return api_name(static_cast<int16_t>(k)); }

std::string_view api_name(int16_t k) {
  switch (static_cast<ApiKey>(k)) {
    case ApiKey::produce: return "Produce";
    case ApiKey::fetch: return "Fetch";
    case ApiKey::list_offsets: return "ListOffsets";
    case ApiKey::metadata: return "Metadata";
    case ApiKey::offset_commit: return "OffsetCommit";
    case ApiKey::offset_fetch: return "OffsetFetch";
    case ApiKey::find_coordinator: return "FindCoordinator";
    case ApiKey::sasl_handshake: return "SaslHandshake";
    case ApiKey::api_versions: return "ApiVersions";
    case ApiKey::create_topics: return "CreateTopics";
    case ApiKey::init_producer_id: return "InitProducerId";
    case ApiKey::describe_configs: return "DescribeConfigs";
    case ApiKey::sasl_authenticate: return "SaslAuthenticate";
    case ApiKey::create_partitions: return "CreatePartitions";
  }
  return "UnknownApi";
}

VersionRange supported_versions(ApiKey k) {
  switch (k) {
    case ApiKey::produce: return {3, 7};
    case ApiKey::fetch: return {4, 11};
    case ApiKey::list_offsets: return {1, 5};
    case ApiKey::metadata: return {1, 2};
    case ApiKey::offset_commit: return {2, 7};
    case ApiKey::offset_fetch: return {1, 5};
    case ApiKey::find_coordinator: return {0, 2};
    case ApiKey::api_versions: return {0, 3};
    case ApiKey::init_producer_id: return {0, 1};
    case ApiKey::sasl_handshake: return {1, 1};     // v0 (unframed tokens) is not spoken
    case ApiKey::sasl_authenticate: return {0, 2};  // v1: session lifetime (KIP-368)
    default: return {0, -1};
  }
}

std::optional<int16_t> first_flexible_version(ApiKey k) {
  switch (k) {
    case ApiKey::produce: return 9;
    case ApiKey::fetch: return 12;
    case ApiKey::list_offsets: return 6;
    case ApiKey::metadata: return 9;
    case ApiKey::offset_commit: return 8;
    case ApiKey::offset_fetch: return 6;
    case ApiKey::find_coordinator: return 3;
    case ApiKey::api_versions: return 3;
    case ApiKey::create_topics: return 5;
    case ApiKey::init_producer_id: return 2;
    case ApiKey::describe_configs: return 4;
    case ApiKey::sasl_authenticate: return 2;
    case ApiKey::create_partitions: return 2;
    case ApiKey::sasl_handshake: return std::nullopt;
  }
  return std::nullopt;
}

bool is_flexible(ApiKey k, int16_t version) {
  auto f = first_flexible_version(k);
  return f && version >= *f;
}

int16_t request_header_version(ApiKey k, int16_t version) { return is_flexible(k, version) ? 2 : 1; }

int16_t response_header_version(ApiKey k, int16_t version) {
  if (k == ApiKey::api_versions) return 0;
  return is_flexible(k, version) ? 1 : 0;
}

std::optional<int16_t> negotiate(VersionRange ours, VersionRange broker) {
  int16_t lo = std::max(ours.min, broker.min);
  int16_t hi = std::min(ours.max, broker.max);
  if (hi < lo) return std::nullopt;
  return hi;
}

}  // namespace tiermirror::protocol
