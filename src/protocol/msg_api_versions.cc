#include "tiermirror/protocol/messages/api_versions.h"

#include "tiermirror/protocol/messages/codec_helpers.h"

namespace tiermirror::protocol {
namespace {

using Response = ApiVersionsResponse;

// ---- tagged fields of the v3+ response body (KIP-482 / KIP-584)
// A tagged field is (uvarint tag, uvarint size, value); the Writer cannot size a value
// before writing it, so each one is encoded apart and appended.
template <typename F>
void write_tagged(Writer& w, uint32_t tag, F&& write_value) {
  Writer value(true);
  write_value(value);
  Bytes b = value.flatten();
  w.uvarint(tag);
  w.uvarint(static_cast<uint32_t>(b.size()));
  for (uint8_t c : b) w.i8(static_cast<int8_t>(c));
}

void write_supported(Writer& w, const Response::SupportedFeature& f) {
  w.string(f.name);
  w.i16(f.min_version);
  w.i16(f.max_version);
  w.empty_tagged_fields();
}
Response::SupportedFeature read_supported(Reader& r) {
  Response::SupportedFeature f;
  f.name = r.string("supported_features.name");
  f.min_version = r.i16("supported_features.min_version");
  f.max_version = r.i16("supported_features.max_version");
  r.tagged_fields("supported_features.tagged_fields");
  return f;
}
void write_finalized(Writer& w, const Response::FinalizedFeature& f) {
  w.string(f.name);
  w.i16(f.max_version_level);
  w.i16(f.min_version_level);
  w.empty_tagged_fields();
}
Response::FinalizedFeature read_finalized(Reader& r) {
  Response::FinalizedFeature f;
  f.name = r.string("finalized_features.name");
  f.max_version_level = r.i16("finalized_features.max_version_level");
  f.min_version_level = r.i16("finalized_features.min_version_level");
  r.tagged_fields("finalized_features.tagged_fields");
  return f;
}

void write_response_tags(Writer& w, const Response& m) {
  uint32_t count = (m.supported_features.empty() ? 0 : 1) + (m.finalized_features_epoch == -1 ? 0 : 1) +
                   (m.finalized_features.empty() ? 0 : 1) + (m.zk_migration_ready ? 1 : 0);
  w.uvarint(count);
  if (!m.supported_features.empty())
    write_tagged(w, 0, [&](Writer& v) { detail::write_array(v, m.supported_features, write_supported); });
  if (m.finalized_features_epoch != -1)
    write_tagged(w, 1, [&](Writer& v) { v.i64(m.finalized_features_epoch); });
  if (!m.finalized_features.empty())
    write_tagged(w, 2, [&](Writer& v) { detail::write_array(v, m.finalized_features, write_finalized); });
  if (m.zk_migration_ready) write_tagged(w, 3, [&](Writer& v) { v.boolean(true); });
}

// Known tags are decoded; unknown ones are skipped (KIP-482). A known tag whose value does
// not end exactly where its size says is malformed.
void read_response_tags(Reader& r, Response& m) {
  const char* field = "tagged_fields";
  uint32_t count = r.uvarint(field);
  if (r.ok() && count > r.remaining()) r.fail(errc::malformed, field);
  for (uint32_t i = 0; i < count && r.ok(); ++i) {
    uint32_t tag = r.uvarint("tagged_fields.tag");
    uint32_t size = r.uvarint("tagged_fields.size");
    if (!r.ok()) return;
    if (size > r.remaining()) {
      r.fail(errc::truncated, "tagged_fields.size");
      return;
    }
    size_t start = r.offset();
    switch (tag) {
      case 0:
        m.supported_features = detail::read_array<Response::SupportedFeature>(
            r, "supported_features", detail::min_string(r) + 4 + detail::min_tags(r), read_supported);
        break;
      case 1:
        m.finalized_features_epoch = r.i64("finalized_features_epoch");
        break;
      case 2:
        m.finalized_features = detail::read_array<Response::FinalizedFeature>(
            r, "finalized_features", detail::min_string(r) + 4 + detail::min_tags(r), read_finalized);
        break;
      case 3:
        m.zk_migration_ready = r.boolean("zk_migration_ready");
        break;
      default:
        for (uint32_t k = 0; k < size; ++k) r.i8("tagged_fields.unknown");
        break;
    }
    if (r.ok() && r.offset() - start != size) r.fail(errc::malformed, "tagged_fields.size");
  }
}

}  // namespace

void ApiVersionsRequest::encode(Writer& w, int16_t version) const {
  detail::assert_version(kApi, version);
  if (version >= 3) {
    w.string(client_software_name);
    w.string(client_software_version);
  }
  w.empty_tagged_fields();
}

ApiVersionsRequest ApiVersionsRequest::decode(Reader& r, int16_t version) {
  ApiVersionsRequest m;
  if (!detail::check_version(r, kApi, version)) return m;
  if (version >= 3) {
    m.client_software_name = r.string("client_software_name");
    m.client_software_version = r.string("client_software_version");
  }
  r.tagged_fields("tagged_fields");
  return m;
}

void ApiVersionsResponse::encode(Writer& w, int16_t version) const {
  detail::assert_version(kApi, version);
  w.i16(error_code);
  detail::write_array(w, api_keys, [](Writer& ww, const ApiVersion& a) {
    ww.i16(a.api_key);
    ww.i16(a.min_version);
    ww.i16(a.max_version);
    ww.empty_tagged_fields();
  });
  if (version >= 1) w.i32(throttle_time_ms);
  if (w.flexible()) write_response_tags(w, *this);
}

ApiVersionsResponse ApiVersionsResponse::decode(Reader& r, int16_t version) {
  ApiVersionsResponse m;
  if (!detail::check_version(r, kApi, version)) return m;
  m.error_code = r.i16("error_code");
  m.api_keys = detail::read_array<ApiVersion>(r, "api_keys", 6 + detail::min_tags(r), [](Reader& rr) {
    ApiVersion a;
    a.api_key = rr.i16("api_keys.api_key");
    a.min_version = rr.i16("api_keys.min_version");
    a.max_version = rr.i16("api_keys.max_version");
    rr.tagged_fields("api_keys.tagged_fields");
    return a;
  });
  if (version >= 1) m.throttle_time_ms = r.i32("throttle_time_ms");
  if (r.flexible()) read_response_tags(r, m);
  return m;
}

}  // namespace tiermirror::protocol
