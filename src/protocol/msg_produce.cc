#include "tiermirror/protocol/messages/produce.h"

#include "tiermirror/protocol/messages/codec_helpers.h"

namespace tiermirror::protocol {

// ---------------------------------------------------------------- request

bool ProduceRequest::Partition::operator==(const Partition& o) const {
  return index == o.index && detail::same_bytes(records, o.records);
}

void ProduceRequest::encode(Writer& w, int16_t version) const {
  detail::assert_version(kApi, version);
  w.nullable_string(transactional_id);  // v3+
  w.i16(acks);
  w.i32(timeout_ms);
  detail::write_topics(w, topics, [](Writer& w3, const Partition& p) {
    w3.i32(p.index);
    w3.external_bytes(p.records);  // referenced, not copied; empty list = null
    w3.empty_tagged_fields();
  });
  w.empty_tagged_fields();
}

ProduceRequest ProduceRequest::decode(Reader& r, int16_t version) {
  ProduceRequest m;
  if (!detail::check_version(r, kApi, version)) return m;
  m.transactional_id = r.nullable_string("transactional_id");
  m.acks = r.i16("acks");
  m.timeout_ms = r.i32("timeout_ms");
  size_t partition_min = 4 + detail::min_bytes(r) + detail::min_tags(r);
  m.topics = detail::read_topics<Topic>(r, "topics", partition_min, [](Reader& r3) {
    Partition p;
    p.index = r3.i32("partitions.index");
    if (auto records = r3.nullable_bytes("partitions.records")) p.records.push_back(std::move(*records));
    r3.tagged_fields("partitions.tagged_fields");
    return p;
  });
  r.tagged_fields("tagged_fields");
  return m;
}

// ---------------------------------------------------------------- response

void ProduceResponse::encode(Writer& w, int16_t version) const {
  detail::assert_version(kApi, version);
  detail::write_topics(w, topics, [version](Writer& w3, const Partition& p) {
    w3.i32(p.index);
    w3.i16(p.error_code);
    w3.i64(p.base_offset);
    w3.i64(p.log_append_time_ms);  // v2+
    if (version >= 5) w3.i64(p.log_start_offset);
    w3.empty_tagged_fields();
  });
  w.i32(throttle_time_ms);  // v1+
  w.empty_tagged_fields();
}

ProduceResponse ProduceResponse::decode(Reader& r, int16_t version) {
  ProduceResponse m;
  if (!detail::check_version(r, kApi, version)) return m;
  size_t partition_min = 4 + 2 + 8 + 8 + (version >= 5 ? 8 : 0) + detail::min_tags(r);
  m.topics = detail::read_topics<Topic>(r, "responses", partition_min, [=](Reader& r3) {
    Partition p;
    p.index = r3.i32("partitions.index");
    p.error_code = r3.i16("partitions.error_code");
    p.base_offset = r3.i64("partitions.base_offset");
    p.log_append_time_ms = r3.i64("partitions.log_append_time_ms");
    if (version >= 5) p.log_start_offset = r3.i64("partitions.log_start_offset");
    r3.tagged_fields("partitions.tagged_fields");
    return p;
  });
  m.throttle_time_ms = r.i32("throttle_time_ms");
  r.tagged_fields("tagged_fields");
  return m;
}

}  // namespace tiermirror::protocol
