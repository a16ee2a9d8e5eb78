#include "tiermirror/protocol/messages/offset_fetch.h"

#include "tiermirror/protocol/messages/codec_helpers.h"

namespace tiermirror::protocol {

void OffsetFetchRequest::encode(Writer& w, int16_t version) const {
  detail::assert_version(kApi, version);
  assert(version >= 2 || topics.has_value());
  w.string(group_id);
  detail::write_nullable_array(w, topics, [](Writer& ww, const Topic& t) {
    ww.string(t.name);
    detail::write_int32_array(ww, t.partition_indexes);
    ww.empty_tagged_fields();
  });
  w.empty_tagged_fields();
}

OffsetFetchRequest OffsetFetchRequest::decode(Reader& r, int16_t version) {
  OffsetFetchRequest m;
  if (!detail::check_version(r, kApi, version)) return m;
  m.group_id = r.string("group_id");
  size_t topic_min = detail::min_string(r) + detail::min_array(r) + detail::min_tags(r);
  auto read_topic = [](Reader& rr) {
    Topic t;
    t.name = rr.string("topics.name");
    t.partition_indexes = detail::read_int32_array(rr, "topics.partition_indexes");
    rr.tagged_fields("topics.tagged_fields");
    return t;
  };
  if (version >= 2)
    m.topics = detail::read_nullable_array<Topic>(r, "topics", topic_min, read_topic);
  else
    m.topics = detail::read_array<Topic>(r, "topics", topic_min, read_topic);
  r.tagged_fields("tagged_fields");
  return m;
}

void OffsetFetchResponse::encode(Writer& w, int16_t version) const {
  detail::assert_version(kApi, version);
  if (version >= 3) w.i32(throttle_time_ms);
  detail::write_topics(w, topics, [version](Writer& w3, const Partition& p) {
    w3.i32(p.partition_index);
    w3.i64(p.committed_offset);
    if (version >= 5) w3.i32(p.committed_leader_epoch);
    w3.nullable_string(p.metadata);
    w3.i16(p.error_code);
    w3.empty_tagged_fields();
  });
  if (version >= 2) w.i16(error_code);
  w.empty_tagged_fields();
}

OffsetFetchResponse OffsetFetchResponse::decode(Reader& r, int16_t version) {
  OffsetFetchResponse m;
  if (!detail::check_version(r, kApi, version)) return m;
  if (version >= 3) m.throttle_time_ms = r.i32("throttle_time_ms");
  size_t partition_min = 4 + 8 + (version >= 5 ? 4 : 0) + detail::min_string(r) + 2 + detail::min_tags(r);
  m.topics = detail::read_topics<Topic>(r, "topics", partition_min, [=](Reader& r3) {
    Partition p;
    p.partition_index = r3.i32("partitions.partition_index");
    p.committed_offset = r3.i64("partitions.committed_offset");
    if (version >= 5) p.committed_leader_epoch = r3.i32("partitions.committed_leader_epoch");
    p.metadata = r3.nullable_string("partitions.metadata");
    p.error_code = r3.i16("partitions.error_code");
    r3.tagged_fields("partitions.tagged_fields");
    return p;
  });
  if (version >= 2) m.error_code = r.i16("error_code");
  r.tagged_fields("tagged_fields");
  return m;
}

}  // namespace tiermirror::protocol
