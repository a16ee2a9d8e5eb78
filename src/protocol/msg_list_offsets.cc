#include "tiermirror/protocol/messages/list_offsets.h"

#include "tiermirror/protocol/messages/codec_helpers.h"

namespace tiermirror::protocol {

void ListOffsetsRequest::encode(Writer& w, int16_t version) const {
  detail::assert_version(kApi, version);
  w.i32(replica_id);
  if (version >= 2) w.i8(isolation_level);
  detail::write_topics(w, topics, [version](Writer& w3, const Partition& p) {
    w3.i32(p.partition_index);
    if (version >= 4) w3.i32(p.current_leader_epoch);
    w3.i64(p.timestamp);
    w3.empty_tagged_fields();
  });
  w.empty_tagged_fields();
}

ListOffsetsRequest ListOffsetsRequest::decode(Reader& r, int16_t version) {
  ListOffsetsRequest m;
  if (!detail::check_version(r, kApi, version)) return m;
  m.replica_id = r.i32("replica_id");
  if (version >= 2) m.isolation_level = r.i8("isolation_level");
  size_t partition_min = 4 + (version >= 4 ? 4 : 0) + 8 + detail::min_tags(r);
  m.topics = detail::read_topics<Topic>(r, "topics", partition_min, [=](Reader& r3) {
    Partition p;
    p.partition_index = r3.i32("partitions.partition_index");
    if (version >= 4) p.current_leader_epoch = r3.i32("partitions.current_leader_epoch");
    p.timestamp = r3.i64("partitions.timestamp");
    r3.tagged_fields("partitions.tagged_fields");
    return p;
  });
  r.tagged_fields("tagged_fields");
  return m;
}

void ListOffsetsResponse::encode(Writer& w, int16_t version) const {
  detail::assert_version(kApi, version);
  if (version >= 2) w.i32(throttle_time_ms);
  detail::write_topics(w, topics, [version](Writer& w3, const Partition& p) {
    w3.i32(p.partition_index);
    w3.i16(p.error_code);
    w3.i64(p.timestamp);  // v1+
    w3.i64(p.offset);     // v1+
    if (version >= 4) w3.i32(p.leader_epoch);
    w3.empty_tagged_fields();
  });
  w.empty_tagged_fields();
}

ListOffsetsResponse ListOffsetsResponse::decode(Reader& r, int16_t version) {
  ListOffsetsResponse m;
  if (!detail::check_version(r, kApi, version)) return m;
  if (version >= 2) m.throttle_time_ms = r.i32("throttle_time_ms");
  size_t partition_min = 4 + 2 + 8 + 8 + (version >= 4 ? 4 : 0) + detail::min_tags(r);
  m.topics = detail::read_topics<Topic>(r, "topics", partition_min, [=](Reader& r3) {
    Partition p;
    p.partition_index = r3.i32("partitions.partition_index");
    p.error_code = r3.i16("partitions.error_code");
    p.timestamp = r3.i64("partitions.timestamp");
    p.offset = r3.i64("partitions.offset");
    if (version >= 4) p.leader_epoch = r3.i32("partitions.leader_epoch");
    r3.tagged_fields("partitions.tagged_fields");
    return p;
  });
  r.tagged_fields("tagged_fields");
  return m;
}

}  // namespace tiermirror::protocol
