#include "tiermirror/protocol/messages/metadata.h"

#include "tiermirror/protocol/messages/codec_helpers.h"

namespace tiermirror::protocol {
void MetadataRequest::encode(Writer& w, int16_t version) const {
  detail::assert_version(kApi, version);
  detail::write_nullable_array(w, topics, [](Writer& ww, const Topic& t) {
    ww.string(t.name);
    ww.empty_tagged_fields();
  });
  w.empty_tagged_fields();
}

MetadataRequest MetadataRequest::decode(Reader& r, int16_t version) {
  MetadataRequest m;
  if (!detail::check_version(r, kApi, version)) return m;
  m.topics = detail::read_nullable_array<Topic>(r, "topics", detail::min_string(r) + detail::min_tags(r),
                                                [](Reader& rr) {
                                                  Topic t;
                                                  t.name = rr.string("topics.name");
                                                  rr.tagged_fields("topics.tagged_fields");
                                                  return t;
                                                });
  r.tagged_fields("tagged_fields");
  return m;
}

void MetadataResponse::encode(Writer& w, int16_t version) const {
  detail::assert_version(kApi, version);
  detail::write_array(w, brokers, [version](Writer& ww, const Broker& b) {
    ww.i32(b.node_id);
    ww.string(b.host);
    ww.i32(b.port);
    if (version >= 1) ww.nullable_string(b.rack);
    ww.empty_tagged_fields();
  });
  if (version >= 2) w.nullable_string(cluster_id);
  if (version >= 1) w.i32(controller_id);
  detail::write_array(w, topics, [version](Writer& ww, const Topic& t) {
    ww.i16(t.error_code);
    ww.string(t.name);
    if (version >= 1) ww.boolean(t.is_internal);
    detail::write_array(ww, t.partitions, [](Writer& w3, const Partition& p) {
      w3.i16(p.error_code);
      w3.i32(p.partition_index);
      w3.i32(p.leader_id);
      detail::write_int32_array(w3, p.replica_nodes);
      detail::write_int32_array(w3, p.isr_nodes);
      w3.empty_tagged_fields();
    });
    ww.empty_tagged_fields();
  });
  w.empty_tagged_fields();
}

MetadataResponse MetadataResponse::decode(Reader& r, int16_t version) {
  MetadataResponse m;
  if (!detail::check_version(r, kApi, version)) return m;
  size_t broker_min = 4 + detail::min_string(r) + 4 + (version >= 1 ? detail::min_string(r) : 0) + detail::min_tags(r);
  m.brokers = detail::read_array<Broker>(r, "brokers", broker_min, [version](Reader& rr) {
    Broker b;
    b.node_id = rr.i32("brokers.node_id");
    b.host = rr.string("brokers.host");
    b.port = rr.i32("brokers.port");
    if (version >= 1) b.rack = rr.nullable_string("brokers.rack");
    rr.tagged_fields("brokers.tagged_fields");
    return b;
  });
  if (version >= 2) m.cluster_id = r.nullable_string("cluster_id");
  if (version >= 1) m.controller_id = r.i32("controller_id");
  size_t partition_min = 2 + 4 + 4 + 2 * detail::min_array(r) + detail::min_tags(r);
  size_t topic_min = 2 + detail::min_string(r) + (version >= 1 ? 1 : 0) + detail::min_array(r) + detail::min_tags(r);
  m.topics = detail::read_array<Topic>(r, "topics", topic_min, [version, partition_min](Reader& rr) {
    Topic t;
    t.error_code = rr.i16("topics.error_code");
    t.name = rr.string("topics.name");
    if (version >= 1) t.is_internal = rr.boolean("topics.is_internal");
    t.partitions = detail::read_array<Partition>(rr, "topics.partitions", partition_min, [](Reader& r3) {
      Partition p;
      p.error_code = r3.i16("partitions.error_code");
      p.partition_index = r3.i32("partitions.partition_index");
      p.leader_id = r3.i32("partitions.leader_id");
      p.replica_nodes = detail::read_int32_array(r3, "partitions.replica_nodes");
      p.isr_nodes = detail::read_int32_array(r3, "partitions.isr_nodes");
      r3.tagged_fields("partitions.tagged_fields");
      return p;
    });
    rr.tagged_fields("topics.tagged_fields");
    return t;
  });
  r.tagged_fields("tagged_fields");
  return m;
}

}  // namespace tiermirror::protocol
