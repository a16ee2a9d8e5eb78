#include <gtest/gtest.h>

#include "codec_test_util.h"

namespace tiermirror::protocol {
namespace {

using namespace tiermirror::protocol::testing;

// Stand-ins for a rewritten 61-byte v2 batch header and the fetched payload after it.
Bytes header_bytes() {
  Bytes h(61);
  for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint8_t>(i);
  return h;
}
Bytes payload_bytes() { return Bytes{0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03}; }

std::vector<ProduceRequest> request_samples(int16_t) {
  ProduceRequest m;
  m.transactional_id = "mirror-tx-1";
  m.acks = 1;
  m.timeout_ms = 12000;
  ProduceRequest::Partition two_segments{4, {slice_of(header_bytes()), slice_of(payload_bytes())}};
  ProduceRequest::Partition one_segment{0, {slice_of(payload_bytes())}};
  ProduceRequest::Partition null_records{9, {}};
  ProduceRequest::Partition empty_records{10, {BufferSlice()}};
  m.topics = {{"orders", {two_segments, one_segment, null_records, empty_records}}, {"t2", {}}};
  ProduceRequest idempotent;  // transactional_id null, Kafka defaults elsewhere
  return {m, idempotent};
}

std::vector<ProduceResponse> response_samples(int16_t v) {
  ProduceResponse m;
  ProduceResponse::Partition p{3, 0, 1000, -1, -1};
  p.log_append_time_ms = 1700000000000;  // v2+, so always here
  if (v >= 5) p.log_start_offset = 17;
  m.topics = {{"orders", {p, {4, 47, -1, -1, -1}}}, {"t2", {}}};
  m.throttle_time_ms = 33;
  return {m, ProduceResponse{}};
}

TEST(CodecProduce, RoundTripTruncationTrailingEveryVersion) {
  check_all_versions<ProduceRequest>(request_samples);
  check_all_versions<ProduceResponse>(response_samples);
}

TEST(CodecProduce, WholeFramesEveryVersion) {
  check_frames_all_versions<ProduceRequest, ProduceResponse>(request_samples, response_samples);
}

TEST(CodecProduce, UnsupportedVersionRefused) {
  check_unsupported_versions<ProduceRequest>();
  check_unsupported_versions<ProduceResponse>();
}

TEST(CodecProduce, GoldenRequest) {
  ProduceRequest m;
  m.topics = {{"t", {{0, {slice_of(Bytes{1, 2}), slice_of(Bytes{3})}}}}};
  // transactional_id null, acks -1, timeout 30000, one topic, one partition, BYTES of 3.
  check_golden(m, 3,
               ByteBuilder().null_str().i16(-1).i32(30000).arr(1).str("t").arr(1).i32(0).bytes({1, 2, 3}).build());
  m.topics[0].partitions[0].records.clear();  // null records
  check_golden(m, 7, ByteBuilder().null_str().i16(-1).i32(30000).arr(1).str("t").arr(1).i32(0).i32(-1).build());
}

TEST(CodecProduce, GoldenResponse) {
  ProduceResponse m;
  m.topics = {{"t", {{0, 0, 5, -1, -1}}}};
  m.throttle_time_ms = 7;
  check_golden(m, 3, ByteBuilder().arr(1).str("t").arr(1).i32(0).i16(0).i64(5).i64(-1).i32(7).build());
  m.topics[0].partitions[0].log_start_offset = 2;  // v5+
  check_golden(m, 5, ByteBuilder().arr(1).str("t").arr(1).i32(0).i16(0).i64(5).i64(-1).i64(2).i32(7).build());
}

TEST(CodecProduce, RecordsEqualityComparesBytesNotSegments) {
  ProduceRequest::Partition two{1, {slice_of(Bytes{1, 2}), slice_of(Bytes{3, 4, 5})}};
  ProduceRequest::Partition one{1, {slice_of(Bytes{1, 2, 3, 4, 5})}};
  ProduceRequest::Partition three{1, {slice_of(Bytes{1}), BufferSlice(), slice_of(Bytes{2, 3, 4, 5})}};
  ProduceRequest::Partition other{1, {slice_of(Bytes{1, 2, 3, 4, 6})}};
  ProduceRequest::Partition shorter{1, {slice_of(Bytes{1, 2, 3, 4})}};
  EXPECT_TRUE(two == one);
  EXPECT_TRUE(three == one);
  EXPECT_FALSE(other == one);
  EXPECT_FALSE(shorter == one);
  EXPECT_FALSE((ProduceRequest::Partition{1, {}}) == (ProduceRequest::Partition{1, {BufferSlice()}}));  // null != empty
}

TEST(CodecProduce, RecordsAreSentWithoutCopyAndReadWithoutCopy) {
  SharedBuffer header(header_bytes());
  SharedBuffer payload(payload_bytes());
  ProduceRequest m;
  m.topics = {{"orders", {{2, {BufferSlice(header), BufferSlice(payload)}}}}};
  auto segments = encode_request(RequestHeader{ApiKey::produce, 7, 1, std::string("tm")}, m);
  // [size + header + fields up to the records length] [batch header] [payload] [rest, if any]
  ASSERT_GE(segments.size(), 3u);
  EXPECT_EQ(segments[1].data(), header.span().data());
  EXPECT_EQ(segments[2].data(), payload.span().data());

  Bytes wire = concat(segments);
  SharedBuffer frame(Bytes(wire.begin() + 4, wire.end()));
  auto d = decode_request<ProduceRequest>(frame);
  ASSERT_TRUE(d.ok()) << d.error.describe();
  const auto& records = d.value->topics.at(0).partitions.at(0).records;
  ASSERT_EQ(records.size(), 1u);
  EXPECT_TRUE(points_into(records[0], frame.span()));
  EXPECT_EQ(records[0].size(), header.size() + payload.size());
  EXPECT_TRUE(*d.value == m);
}

}  // namespace
}  // namespace tiermirror::protocol
