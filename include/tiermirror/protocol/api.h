#pragma once
// API keys, the version ranges tiermirror speaks, and where each API turns flexible.
#include <cstdint>
#include <optional>
#include <string_view>

namespace tiermirror::protocol {

enum class ApiKey : int16_t {
  produce = 0,
  fetch = 1,
  list_offsets = 2,
  metadata = 3,
  offset_commit = 8,
  offset_fetch = 9,
  find_coordinator = 10,
  sasl_handshake = 17,
  api_versions = 18,
  create_topics = 19,
  init_producer_id = 22,
  describe_configs = 32,
  sasl_authenticate = 36,
  create_partitions = 37,
};

std::string_view api_name(ApiKey k);
std::string_view api_name(int16_t k);

struct VersionRange {
  int16_t min = 0;
  int16_t max = -1;
  bool empty() const { return max < min; }
};

/// The versions tiermirror can encode and decode for an API. Chosen to work with both
/// librdkafka 2.0.2's mock cluster and Kafka 2.4 to 4.x (see kafka-wire-rules.md,
/// "Versions"): Kafka 4.0 (KIP-896) dropped Produce <3, Fetch <4, ListOffsets <0,
/// OffsetCommit <2 and OffsetFetch <1; the 2.0.2 mock stops at Metadata 2 and Fetch 11.
VersionRange supported_versions(ApiKey k);

/// The first flexible version (compact strings/arrays, tagged fields, KIP-482), or
/// nullopt when the API has none.
std::optional<int16_t> first_flexible_version(ApiKey k);
bool is_flexible(ApiKey k, int16_t version);

/// Request header version for (api, version): 1 before the API's flexible versions, 2
/// from them on. Response headers: 0, then 1 — except ApiVersions, whose response header
/// stays v0 forever so a client can read it before knowing the broker's versions.
int16_t request_header_version(ApiKey k, int16_t version);
int16_t response_header_version(ApiKey k, int16_t version);

/// Picks the highest version both sides support, or nullopt (never send a version
/// outside the broker's range: the broker closes the connection without a response).
std::optional<int16_t> negotiate(VersionRange ours, VersionRange broker);

}  // namespace tiermirror::protocol
