#include <gtest/gtest.h>

#include <cstring>

#include "codec_test_util.h"

namespace tiermirror::protocol {
namespace {

using namespace tiermirror::protocol::testing;

std::vector<FetchRequest> request_samples(int16_t v) {
  FetchRequest m;
  m.replica_id = 7;
  m.max_wait_ms = 500;
  m.min_bytes = 1;
  m.max_bytes = 52428800;
  m.isolation_level = 1;
  if (v >= 7) {
    m.session_id = 123;
    m.session_epoch = 4;
    m.forgotten_topics_data = {{"old", {1, 2}}, {"older", {}}};
  }
  FetchRequest::Partition p0{0, -1, 1000, -1, 1048576};
  FetchRequest::Partition p3{3, -1, 0, -1, 65536};
  if (v >= 9) p0.current_leader_epoch = 5, p3.current_leader_epoch = 6;
  if (v >= 5) p0.log_start_offset = 10, p3.log_start_offset = 0;
  m.topics = {{"orders", {p0, p3}}, {"empty", {}}};
  if (v >= 11) m.rack_id = "rack-a";
  return {m, FetchRequest{}};
}

Bytes records_a() { return Bytes{0, 0, 0, 0, 0, 0, 0, 1, 0xaa, 0xbb, 0xcc}; }
Bytes records_b() { return Bytes{9, 8, 7, 6, 5}; }

std::vector<FetchResponse> response_samples(int16_t v) {
  FetchResponse m;
  m.throttle_time_ms = 100;
  if (v >= 7) {
    m.error_code = 70;
    m.session_id = 55;
  }
  FetchResponse::Partition a;
  a.partition_index = 0;
  a.error_code = 0;
  a.high_watermark = 2000;
  a.last_stable_offset = 1990;
  if (v >= 5) a.log_start_offset = 100;
  a.aborted_transactions = std::vector<FetchResponse::AbortedTransaction>{{7, 1500}, {8, 1600}};
  if (v >= 11) a.preferred_read_replica = 2;
  a.records = slice_of(records_a());
  FetchResponse::Partition b;  // an errored partition: null aborted list, no records
  b.partition_index = 1;
  b.error_code = 1;
  b.high_watermark = 3;
  FetchResponse::Partition c = a;
  c.partition_index = 2;
  c.aborted_transactions.emplace();  // empty, not null
  c.records = slice_of(records_b());
  m.topics = {{"orders", {a, b, c}}, {"t2", {}}};
  return {m, FetchResponse{}};
}

TEST(CodecFetch, RoundTripTruncationTrailingEveryVersion) {
  check_all_versions<FetchRequest>(request_samples);
  check_all_versions<FetchResponse>(response_samples);
}

TEST(CodecFetch, WholeFramesEveryVersion) {
  check_frames_all_versions<FetchRequest, FetchResponse>(request_samples, response_samples);
}

TEST(CodecFetch, UnsupportedVersionRefused) {
  check_unsupported_versions<FetchRequest>();
  check_unsupported_versions<FetchResponse>();
}

TEST(CodecFetch, GoldenRequests) {
  FetchRequest m;
  m.max_wait_ms = 500;
  m.min_bytes = 1;
  m.max_bytes = 1024;
  m.isolation_level = 1;
  m.topics = {{"t", {{0, -1, 42, -1, 100}}}};
  check_golden(m, 4,
               ByteBuilder()
                   .i32(-1).i32(500).i32(1).i32(1024).i8(1)
                   .arr(1).str("t").arr(1).i32(0).i64(42).i32(100)
                   .build());
  m.topics[0].partitions[0].current_leader_epoch = 5;
  m.rack_id = "r";
  check_golden(m, 11,
               ByteBuilder()
                   .i32(-1).i32(500).i32(1).i32(1024).i8(1)
                   .i32(0).i32(-1)                                          // session id, epoch
                   .arr(1).str("t").arr(1).i32(0).i32(5).i64(42).i64(-1).i32(100)
                   .arr(0)                                                  // forgotten topics
                   .str("r")
                   .build());
}

TEST(CodecFetch, GoldenResponses) {
  FetchResponse m;
  FetchResponse::Partition p;
  p.high_watermark = 10;
  p.last_stable_offset = 10;
  p.records = slice_of(records_b());
  m.topics = {{"t", {p}}};
  check_golden(m, 4,
               ByteBuilder()
                   .i32(0)
                   .arr(1).str("t").arr(1).i32(0).i16(0).i64(10).i64(10).arr(-1).bytes(records_b())
                   .build());
  m.throttle_time_ms = 1;
  m.session_id = 3;
  m.topics[0].partitions[0].log_start_offset = 0;
  m.topics[0].partitions[0].aborted_transactions = std::vector<FetchResponse::AbortedTransaction>{{7, 8}};
  m.topics[0].partitions[0].preferred_read_replica = 2;
  check_golden(m, 11,
               ByteBuilder()
                   .i32(1).i16(0).i32(3)
                   .arr(1).str("t").arr(1).i32(0).i16(0).i64(10).i64(10).i64(0)
                   .arr(1).i64(7).i64(8)
                   .i32(2)
                   .bytes(records_b())
                   .build());
}

TEST(CodecFetch, NullRecordsDecodeAsEmpty) {
  Bytes body = ByteBuilder().i32(0).arr(1).str("t").arr(1).i32(0).i16(6).i64(-1).i64(-1).arr(-1).i32(-1).build();
  auto d = decode_body<FetchResponse>(body, 4);
  ASSERT_TRUE(d.ok()) << describe(d.error);
  EXPECT_TRUE(d.value->topics[0].partitions[0].records.empty());
  EXPECT_EQ(d.value->topics[0].partitions[0].error_code, 6);
}

TEST(CodecFetch, ResponseRecordsPointIntoTheFrame) {
  FetchResponse m;
  FetchResponse::Partition a, b;
  a.partition_index = 0;
  a.records = slice_of(records_a());
  b.partition_index = 1;
  b.records = slice_of(records_b());
  m.topics = {{"orders", {a, b}}};
  for (int16_t v : {int16_t{4}, int16_t{11}}) {
    SharedBuffer frame = response_frame(m, v, 5);
    auto d = decode_response<FetchResponse>(frame, ApiKey::fetch, v);
    ASSERT_TRUE(d.ok()) << d.error.describe();
    const auto& parts = d.value->topics.at(0).partitions;
    ASSERT_EQ(parts.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_TRUE(points_into(parts[i].records, frame.span())) << "partition " << i << " was copied";
      const Bytes want = i == 0 ? records_a() : records_b();
      ASSERT_EQ(parts[i].records.size(), want.size());
      EXPECT_EQ(std::memcmp(parts[i].records.data(), want.data(), want.size()), 0);
    }
    EXPECT_LT(parts[0].records.data() + parts[0].records.size(), parts[1].records.data());
    // The slices keep the frame alive: the frame, the two slices (and nothing else).
    EXPECT_EQ(frame.use_count(), 3);
  }
}

TEST(CodecFetch, AbsurdPartitionCountRefused) {
  Bytes body = ByteBuilder().i32(0).arr(1).str("t").arr(100000).raw(Bytes(200, 0)).build();
  auto d = decode_body<FetchResponse>(body, 4);
  EXPECT_FALSE(d.ok());
  EXPECT_EQ(d.error.code, errc::malformed);
}

}  // namespace
}  // namespace tiermirror::protocol
