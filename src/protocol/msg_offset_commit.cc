#include "tiermirror/protocol/messages/offset_commit.h"

#include "tiermirror/protocol/messages/codec_helpers.h"

namespace tiermirror::protocol {

void OffsetCommitRequest::encode(Writer& w, int16_t version) const {
  detail::assert_version(kApi, version);
  w.string(group_id);
  w.i32(generation_id);  // v1+
  w.string(member_id);   // v1+
  if (version >= 7) w.nullable_string(group_instance_id);
  if (version >= 2 && version <= 4) w.i64(retention_time_ms);
  detail::write_topics(w, topics, [version](Writer& w3, const Partition& p) {
    w3.i32(p.partition_index);
    w3.i64(p.committed_offset);
    if (version >= 6) w3.i32(p.committed_leader_epoch);
    w3.nullable_string(p.committed_metadata);
    w3.empty_tagged_fields();
  });
  w.empty_tagged_fields();
}

OffsetCommitRequest OffsetCommitRequest::decode(Reader& r, int16_t version) {
  OffsetCommitRequest m;
  if (!detail::check_version(r, kApi, version)) return m;
  m.group_id = r.string("group_id");
  m.generation_id = r.i32("generation_id");
  m.member_id = r.string("member_id");
  if (version >= 7) m.group_instance_id = r.nullable_string("group_instance_id");
  if (version >= 2 && version <= 4) m.retention_time_ms = r.i64("retention_time_ms");
  size_t partition_min = 4 + 8 + (version >= 6 ? 4 : 0) + detail::min_string(r) + detail::min_tags(r);
  m.topics = detail::read_topics<Topic>(r, "topics", partition_min, [=](Reader& r3) {
    Partition p;
    p.partition_index = r3.i32("partitions.partition_index");
    p.committed_offset = r3.i64("partitions.committed_offset");
    if (version >= 6) p.committed_leader_epoch = r3.i32("partitions.committed_leader_epoch");
    p.committed_metadata = r3.nullable_string("partitions.committed_metadata");
    r3.tagged_fields("partitions.tagged_fields");
    return p;
  });
  r.tagged_fields("tagged_fields");
  return m;
}

void OffsetCommitResponse::encode(Writer& w, int16_t version) const {
  detail::assert_version(kApi, version);
  if (version >= 3) w.i32(throttle_time_ms);
  detail::write_topics(w, topics, [](Writer& w3, const Partition& p) {
    w3.i32(p.partition_index);
    w3.i16(p.error_code);
    w3.empty_tagged_fields();
  });
  w.empty_tagged_fields();
}

OffsetCommitResponse OffsetCommitResponse::decode(Reader& r, int16_t version) {
  OffsetCommitResponse m;
  if (!detail::check_version(r, kApi, version)) return m;
  if (version >= 3) m.throttle_time_ms = r.i32("throttle_time_ms");
  size_t partition_min = 4 + 2 + detail::min_tags(r);
  m.topics = detail::read_topics<Topic>(r, "topics", partition_min, [](Reader& r3) {
    Partition p;
    p.partition_index = r3.i32("partitions.partition_index");
    p.error_code = r3.i16("partitions.error_code");
    r3.tagged_fields("partitions.tagged_fields");
    return p;
  });
  r.tagged_fields("tagged_fields");
  return m;
}

}  // namespace tiermirror::protocol
