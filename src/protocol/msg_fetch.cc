#include "tiermirror/protocol/messages/fetch.h"

#include "tiermirror/protocol/messages/codec_helpers.h"

namespace tiermirror::protocol {

// ---------------------------------------------------------------- request

void FetchRequest::encode(Writer& w, int16_t version) const {
  detail::assert_version(kApi, version);
  w.i32(replica_id);
  w.i32(max_wait_ms);
  w.i32(min_bytes);
  w.i32(max_bytes);        // v3+
  w.i8(isolation_level);   // v4+
  if (version >= 7) {
    w.i32(session_id);
    w.i32(session_epoch);
  }
  detail::write_topics(w, topics, [version](Writer& w3, const Partition& p) {
    w3.i32(p.partition_index);
    if (version >= 9) w3.i32(p.current_leader_epoch);
    w3.i64(p.fetch_offset);
    if (version >= 5) w3.i64(p.log_start_offset);
    w3.i32(p.partition_max_bytes);
    w3.empty_tagged_fields();
  });
  if (version >= 7) {
    detail::write_array(w, forgotten_topics_data, [](Writer& ww, const ForgottenTopic& t) {
      ww.string(t.name);
      detail::write_int32_array(ww, t.partition_indexes);
      ww.empty_tagged_fields();
    });
  }
  if (version >= 11) w.string(rack_id);
  w.empty_tagged_fields();
}

FetchRequest FetchRequest::decode(Reader& r, int16_t version) {
  FetchRequest m;
  if (!detail::check_version(r, kApi, version)) return m;
  m.replica_id = r.i32("replica_id");
  m.max_wait_ms = r.i32("max_wait_ms");
  m.min_bytes = r.i32("min_bytes");
  m.max_bytes = r.i32("max_bytes");
  m.isolation_level = r.i8("isolation_level");
  if (version >= 7) {
    m.session_id = r.i32("session_id");
    m.session_epoch = r.i32("session_epoch");
  }
  size_t partition_min = 4 + (version >= 9 ? 4 : 0) + 8 + (version >= 5 ? 8 : 0) + 4 + detail::min_tags(r);
  m.topics = detail::read_topics<Topic>(r, "topics", partition_min, [version](Reader& r3) {
    Partition p;
    p.partition_index = r3.i32("partitions.partition_index");
    if (version >= 9) p.current_leader_epoch = r3.i32("partitions.current_leader_epoch");
    p.fetch_offset = r3.i64("partitions.fetch_offset");
    if (version >= 5) p.log_start_offset = r3.i64("partitions.log_start_offset");
    p.partition_max_bytes = r3.i32("partitions.partition_max_bytes");
    r3.tagged_fields("partitions.tagged_fields");
    return p;
  });
  if (version >= 7) {
    m.forgotten_topics_data = detail::read_array<ForgottenTopic>(
        r, "forgotten_topics_data", detail::min_string(r) + detail::min_array(r) + detail::min_tags(r),
        [](Reader& rr) {
          ForgottenTopic t;
          t.name = rr.string("forgotten_topics_data.name");
          t.partition_indexes = detail::read_int32_array(rr, "forgotten_topics_data.partition_indexes");
          rr.tagged_fields("forgotten_topics_data.tagged_fields");
          return t;
        });
  }
  if (version >= 11) m.rack_id = r.string("rack_id");
  r.tagged_fields("tagged_fields");
  return m;
}

// ---------------------------------------------------------------- response

bool FetchResponse::Partition::operator==(const Partition& o) const {
  return partition_index == o.partition_index && error_code == o.error_code && high_watermark == o.high_watermark &&
         last_stable_offset == o.last_stable_offset && log_start_offset == o.log_start_offset &&
         aborted_transactions == o.aborted_transactions && preferred_read_replica == o.preferred_read_replica &&
         detail::same_bytes(records, o.records);
}

void FetchResponse::encode(Writer& w, int16_t version) const {
  detail::assert_version(kApi, version);
  w.i32(throttle_time_ms);  // v1+
  if (version >= 7) {
    w.i16(error_code);
    w.i32(session_id);
  }
  detail::write_topics(w, topics, [version](Writer& w3, const Partition& p) {
    w3.i32(p.partition_index);
    w3.i16(p.error_code);
    w3.i64(p.high_watermark);
    w3.i64(p.last_stable_offset);  // v4+
    if (version >= 5) w3.i64(p.log_start_offset);
    detail::write_nullable_array(w3, p.aborted_transactions, [](Writer& w4, const AbortedTransaction& a) {
      w4.i64(a.producer_id);
      w4.i64(a.first_offset);
      w4.empty_tagged_fields();
    });
    if (version >= 11) w3.i32(p.preferred_read_replica);
    w3.external_bytes({p.records});  // referenced, not copied; empty -> zero-length, not null
    w3.empty_tagged_fields();
  });
  w.empty_tagged_fields();
}

FetchResponse FetchResponse::decode(Reader& r, int16_t version) {
  FetchResponse m;
  if (!detail::check_version(r, kApi, version)) return m;
  m.throttle_time_ms = r.i32("throttle_time_ms");
  if (version >= 7) {
    m.error_code = r.i16("error_code");
    m.session_id = r.i32("session_id");
  }
  size_t aborted_min = 16 + detail::min_tags(r);
  size_t partition_min = 4 + 2 + 8 + 8 + (version >= 5 ? 8 : 0) + detail::min_array(r) + (version >= 11 ? 4 : 0) +
                         detail::min_bytes(r) + detail::min_tags(r);
  m.topics = detail::read_topics<Topic>(r, "responses", partition_min, [=](Reader& r3) {
    Partition p;
    p.partition_index = r3.i32("partitions.partition_index");
    p.error_code = r3.i16("partitions.error_code");
    p.high_watermark = r3.i64("partitions.high_watermark");
    p.last_stable_offset = r3.i64("partitions.last_stable_offset");
    if (version >= 5) p.log_start_offset = r3.i64("partitions.log_start_offset");
    p.aborted_transactions = detail::read_nullable_array<AbortedTransaction>(
        r3, "partitions.aborted_transactions", aborted_min, [](Reader& r4) {
          AbortedTransaction a;
          a.producer_id = r4.i64("aborted_transactions.producer_id");
          a.first_offset = r4.i64("aborted_transactions.first_offset");
          r4.tagged_fields("aborted_transactions.tagged_fields");
          return a;
        });
    if (version >= 11) p.preferred_read_replica = r3.i32("partitions.preferred_read_replica");
    if (auto records = r3.nullable_bytes("partitions.records")) p.records = std::move(*records);  // a view, no copy
    r3.tagged_fields("partitions.tagged_fields");
    return p;
  });
  r.tagged_fields("tagged_fields");
  return m;
}

}  // namespace tiermirror::protocol
