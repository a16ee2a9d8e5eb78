#include "support/batch_builder.h"

#include <gtest/gtest.h>

#include "tiermirror/protocol/crc32c.h"
#include "tiermirror/protocol/record_batch.h"

namespace tiermirror::test {
namespace {

using protocol::BatchVerdict;
using protocol::InnerOffsets;
using View = protocol::RecordBatchView;

View view_of(const Bytes& b) { return View(to_slice(b)); }

TEST(Builder, DefaultBatchParses) {
  const Bytes b = BatchBuilder().add_n(4).build();
  const View v = view_of(b);
  EXPECT_EQ(v.verdict(), BatchVerdict::ok);
  EXPECT_EQ(v.magic(), 2);
  EXPECT_EQ(v.records_count(), 4);
  EXPECT_EQ(v.last_offset_delta(), 3);
  EXPECT_EQ(v.partition_leader_epoch(), -1);
  EXPECT_EQ(v.producer_id(), ProducerId(-1));
  EXPECT_EQ(v.producer_epoch(), ProducerEpoch(-1));
  EXPECT_EQ(v.base_sequence(), -1);
  EXPECT_EQ(v.check_inner_offsets(), InnerOffsets::ok);
}

TEST(Builder, RecordBytesFollowKafkaEncoding) {
  // One record, key "k", value "v", no headers: length 8 (zig-zag 0x10), attributes 0, timestampDelta 0,
  // offsetDelta 0, key length 1 (0x02) 'k', value length 1 (0x02) 'v', header count 0.
  const Bytes b = BatchBuilder().add("k", "v").build();
  const Bytes want_records{0x10, 0x00, 0x00, 0x00, 0x02, 'k', 0x02, 'v', 0x00};
  ASSERT_EQ(b.size(), 61 + want_records.size());
  EXPECT_EQ(Bytes(b.begin() + 61, b.end()), want_records);
  EXPECT_EQ(view_of(b).batch_length(), 49 + 9);
}

TEST(Builder, HeadersNullsAndTimestamps) {
  const Bytes b = BatchBuilder()
                      .base_timestamp(1000)
                      .add(RecordSpec::kv(std::nullopt, std::nullopt).with_timestamp_delta(300))
                      // 200-byte value: a multi-byte varint length
                      .add(RecordSpec::kv("k", std::string(200, 'x'))
                               .with_header("a", "1")
                               .with_header("b", std::nullopt)
                               .with_timestamp_delta(-5))
                      .build();
  const View v = view_of(b);
  EXPECT_EQ(v.verdict(), BatchVerdict::ok);
  EXPECT_EQ(v.base_timestamp(), 1000);
  EXPECT_EQ(v.max_timestamp(), 1300);
  // First record: length 7 (0x0E), attrs, ts delta 300 (zig-zag 600 = 0xD8 0x04), offset 0, key -1 (0x01),
  // value -1, no headers.
  const Bytes first{0x0E, 0x00, 0xD8, 0x04, 0x00, 0x01, 0x01, 0x00};
  EXPECT_EQ(Bytes(b.begin() + 61, b.begin() + 61 + first.size()), first);
}

TEST(Builder, HeaderFieldSetters) {
  const Bytes b = BatchBuilder()
                      .base_offset(99)
                      .leader_epoch(4)
                      .producer(12, 3, 40)
                      .codec(protocol::Codec::snappy)
                      .transactional()
                      .log_append_time()
                      .max_timestamp(5)
                      .add_n(2)
                      .build();
  const View v = view_of(b);
  EXPECT_EQ(v.base_offset(), 99);
  EXPECT_EQ(v.partition_leader_epoch(), 4);
  EXPECT_EQ(v.producer_id(), ProducerId(12));
  EXPECT_EQ(v.producer_epoch(), ProducerEpoch(3));
  EXPECT_EQ(v.base_sequence(), 40);
  EXPECT_EQ(v.attributes(), 0x02 | 0x08 | 0x10);
  EXPECT_EQ(v.max_timestamp(), 5);
  EXPECT_TRUE(v.crc_ok());
}

TEST(Builder, ControlRecordLayout) {
  const Bytes b = BatchBuilder().transactional().control(ControlType::commit, 17).build();
  const View v = view_of(b);
  EXPECT_TRUE(v.is_control());
  EXPECT_TRUE(v.crc_ok());
  EXPECT_EQ(v.records_count(), 1);
  EXPECT_EQ(v.check_inner_offsets(), InnerOffsets::ok);
  // length 16 (0x20), attrs, ts, offset, key length 4 (0x08): version 0 + type 1 (commit),
  // value length 6 (0x0C): version 0 + coordinator epoch 17, no headers.
  const Bytes want{0x20, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x01, 0x0C, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11, 0x00};
  EXPECT_EQ(Bytes(b.begin() + 61, b.end()), want);
}

TEST(Builder, OffsetDeltaOverrideMakesGaps) {
  BatchBuilder bb;
  for (int d : {0, 5}) bb.add(RecordSpec::kv(std::nullopt, "v").with_offset_delta(d));
  const View v = view_of(bb.records_count(2).build());
  EXPECT_EQ(v.last_offset_delta(), 5);  // default follows the largest delta, like the log cleaner keeps it
  EXPECT_EQ(v.verdict(), BatchVerdict::offset_gaps);
}

TEST(Builder, CorruptCrc) {
  const Bytes good = BatchBuilder().add_n(1).build();
  const Bytes bad = BatchBuilder().add_n(1).corrupt_crc().build();
  EXPECT_TRUE(view_of(good).crc_ok());
  EXPECT_FALSE(view_of(bad).crc_ok());
  EXPECT_EQ(Bytes(good.begin() + 21, good.end()), Bytes(bad.begin() + 21, bad.end()));
}

TEST(Builder, LegacyMessageV1Layout) {
  EXPECT_EQ(crc32_ieee(to_bytes("123456789")), 0xCBF43926u);
  const Bytes m = legacy_message_set_v1(77, to_bytes("key"), to_bytes("value"), 1234);
  // offset 8, size 4, crc 4, magic 1, attributes 1, timestamp 8, key 4+3, value 4+5
  ASSERT_EQ(m.size(), 12u + 4 + 1 + 1 + 8 + 7 + 9);
  const View v = view_of(m);
  EXPECT_EQ(v.base_offset(), 77);
  EXPECT_EQ(v.batch_length(), static_cast<int32_t>(m.size() - 12));
  EXPECT_EQ(v.magic(), 1);
  EXPECT_EQ(v.verdict(), BatchVerdict::bad_magic_v0_v1);
  const uint32_t stored = (uint32_t{m[12]} << 24) | (uint32_t{m[13]} << 16) | (uint32_t{m[14]} << 8) | m[15];
  EXPECT_EQ(stored, crc32_ieee(ByteSpan(m).subspan(16)));
  const Bytes v0 = legacy_message_set_v1(1, std::nullopt, std::nullopt, 0, 0);
  EXPECT_EQ(v0.size(), 12u + 14);  // the smallest legal message
  EXPECT_EQ(view_of(v0).verdict(), BatchVerdict::bad_magic_v0_v1);
}

}  // namespace
}  // namespace tiermirror::test
