#pragma once
// ApiVersions (key 18), versions 0-3. v3 is flexible: the request carries the client's
// software name and version, the response body ends with tagged fields (the features of
// KIP-584) while the response HEADER stays v0 (frame.h handles that).
//
// Impl note (KIP-511): a broker that does not know the requested version answers
// UNSUPPORTED_VERSION with a v0 body; kafka-wire-rules.md says to retry with v0-v2 and
// not to trust that body (the librdkafka 2.0.2 mock sends a malformed one).
#include <cstdint>
#include <string>
#include <vector>

#include "tiermirror/protocol/api.h"
#include "tiermirror/protocol/primitives.h"

namespace tiermirror::protocol {

struct ApiVersionsRequest {
  static constexpr ApiKey kApi = ApiKey::api_versions;
  std::string client_software_name;     // v3+
  std::string client_software_version;  // v3+

  void encode(Writer& w, int16_t version) const;
  static ApiVersionsRequest decode(Reader& r, int16_t version);
  bool operator==(const ApiVersionsRequest&) const = default;
};

struct ApiVersionsResponse {
  static constexpr ApiKey kApi = ApiKey::api_versions;
  struct ApiVersion {
    int16_t api_key = 0;
    int16_t min_version = 0;
    int16_t max_version = 0;
    bool operator==(const ApiVersion&) const = default;
  };
  struct SupportedFeature {
    std::string name;
    int16_t min_version = 0;
    int16_t max_version = 0;
    bool operator==(const SupportedFeature&) const = default;
  };
  struct FinalizedFeature {
    std::string name;
    int16_t max_version_level = 0;
    int16_t min_version_level = 0;
    bool operator==(const FinalizedFeature&) const = default;
  };

  int16_t error_code = 0;
  std::vector<ApiVersion> api_keys;
  int32_t throttle_time_ms = 0;  // v1+
  // v3+ tagged fields; written only when not at their default, as Kafka does.
  std::vector<SupportedFeature> supported_features;  // tag 0
  int64_t finalized_features_epoch = -1;             // tag 1
  std::vector<FinalizedFeature> finalized_features;  // tag 2
  bool zk_migration_ready = false;                   // tag 3

  void encode(Writer& w, int16_t version) const;
  static ApiVersionsResponse decode(Reader& r, int16_t version);
  bool operator==(const ApiVersionsResponse&) const = default;
};

}  // namespace tiermirror::protocol
